/* inband_shapes.h - the shapes in which real servers report an error inside a 200 answer (the
 * survey behind common/ll_inband.h and the README's list), each with the class and message a
 * client must make of it, and answers that look like errors but are not. test_inband checks
 * ll_inband_error on each; test_endpoints serves each to both backends. Data only. */
#ifndef INBAND_SHAPES_H
#define INBAND_SHAPES_H

#include <stdbool.h>

#include "ll_err.h"

#define IB_CH(text) "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" text "\"}}]}"

struct inband_shape {
    const char *who;   /* the server or API that answers this way */
    bool stream;       /* an SSE body (the events below) or one JSON answer */
    const char *body;  /* the JSON answer, or the SSE events (without the final [DONE]) */
    enum ll_class cls; /* the request's class; NONE: not an error */
    const char *msg;   /* a part of the message it must carry */
};

static const struct inband_shape inband_shapes[] = {
    /* --- not streamed --- */
    {"OpenAI/Azure error envelope", false,
     "{\"error\":{\"message\":\"The server had an error while processing your request.\","
     "\"type\":\"server_error\",\"param\":null,\"code\":null}}",
     LL_CLASS_HTTP_5XX, "The server had an error"},
    {"vLLM error envelope", false,
     "{\"error\":{\"object\":\"error\",\"message\":\"This model's maximum context length is 4096 "
     "tokens.\",\"type\":\"BadRequestError\",\"param\":null,\"code\":400}}",
     LL_CLASS_HTTP_4XX, "maximum context length"},
    {"vLLM bare error", false,
     "{\"object\":\"error\",\"message\":\"The model `x` does not exist.\",\"type\":"
     "\"NotFoundError\",\"param\":null,\"code\":404}",
     LL_CLASS_HTTP_4XX, "does not exist"},
    {"TGI", false,
     "{\"error\":\"Input validation error: `inputs` must have less than 4096 tokens\","
     "\"error_type\":\"validation\"}",
     LL_CLASS_HTTP_4XX, "Input validation error"},
    {"LiteLLM", false,
     "{\"error\":{\"message\":\"litellm.RateLimitError: quota exceeded\",\"type\":\"None\","
     "\"param\":\"None\",\"code\":\"429\"}}",
     LL_CLASS_HTTP_429, "litellm.RateLimitError"},
    {"OpenAI Responses, failed", false,
     "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"failed\",\"error\":{\"code\":"
     "\"server_error\",\"message\":\"The model failed to generate a response.\"},\"output\":[]}",
     LL_CLASS_HTTP_5XX, "failed to generate"},
    {"Gemini OpenAI-compatible (array)", false,
     "[{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check quota).\","
     "\"status\":\"RESOURCE_EXHAUSTED\"}}]",
     LL_CLASS_HTTP_429, "Resource has been exhausted"},
    {"OpenRouter, finish_reason error", false,
     "{\"id\":\"gen-1\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
     "\"\"},\"finish_reason\":\"error\"}],\"error\":{\"code\":502,\"message\":\"Provider returned "
     "error\"}}",
     LL_CLASS_HTTP_5XX, "Provider returned error"},
    /* --- streamed (SSE) --- */
    {"OpenAI chat stream, first event", true,
     "data: {\"error\":{\"message\":\"The server had an error while processing your request.\","
     "\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
     LL_CLASS_HTTP_5XX, "The server had an error"},
    {"OpenAI chat stream, after tokens", true,
     "data: " IB_CH("a") "\n\ndata: {\"error\":{\"message\":\"Internal error\",\"type\":"
                         "\"server_error\"}}\n\n",
     LL_CLASS_PARTIAL, "Internal error"},
    {"SGLang/vLLM, error and [DONE] in one event", true,
     "data: {\"error\": {\"object\": \"error\", \"message\": \"Requested token count exceeds the "
     "model's maximum context length\", \"type\": \"BadRequestError\", \"param\": null, \"code\": "
     "400}}\ndata: [DONE]\n\n",
     LL_CLASS_HTTP_4XX, "Requested token count exceeds"},
    {"TGI stream", true,
     "data:{\"error\":\"Request failed during generation: Server error: CUDA out of memory\","
     "\"error_type\":\"generation\"}\n\n",
     LL_CLASS_HTTP_5XX, "CUDA out of memory"},
    {"Anthropic-compatible event: error", true,
     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
     "\"message\":\"Overloaded\"}}\n\n",
     LL_CLASS_HTTP_5XX, "Overloaded"},
    {"OpenAI Responses event: error", true,
     "event: error\ndata: {\"type\":\"error\",\"code\":\"ERR_SOMETHING\",\"message\":\"Something "
     "went wrong\",\"param\":null,\"sequence_number\":1}\n\n",
     LL_CLASS_PROTOCOL, "Something went wrong"},
    {"OpenAI Responses event: response.failed", true,
     "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":3,"
     "\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"failed\",\"error\":"
     "{\"code\":\"server_error\",\"message\":\"The model failed to generate a response.\"}}}\n\n",
     LL_CLASS_HTTP_5XX, "failed to generate"},
    {"OpenRouter mid-stream", true,
     "data: " IB_CH("a") "\n\ndata: {\"id\":\"gen-1\",\"object\":\"chat.completion.chunk\","
                         "\"error\":{\"code\":\"server_error\",\"message\":\"Provider "
                         "disconnected\"},\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},"
                         "\"finish_reason\":\"error\"}]}\n\n",
     LL_CLASS_PARTIAL, "Provider disconnected"},
    {"finish_reason error alone", true,
     "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"error\"}]}\n\n",
     LL_CLASS_HTTP_5XX, "finish_reason \"error\""},
    {"event: error, data not JSON", true, "event: error\ndata: upstream connect error\n\n",
     LL_CLASS_PROTOCOL, "upstream connect error"},
    /* --- not errors --- */
    {"Azure filter annotations, filter not run", true,
     "data: {\"choices\":[],\"prompt_filter_results\":[{\"prompt_index\":0,"
     "\"content_filter_results\":{}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
     "\"a\"},\"content_filter_results\":{\"error\":{\"code\":\"content_filter_error\",\"message\":"
     "\"The contents are not filtered\"}}}]}\n\n",
     LL_CLASS_NONE, "a"},
    {"error: null in a chunk", true,
     "data: {\"error\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
     LL_CLASS_NONE, "a"},
    {"finish_reason content_filter", false,
     "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"a\"},"
     "\"finish_reason\":\"content_filter\"}],\"error\":null}",
     LL_CLASS_NONE, "a"},
};

#define INBAND_N (sizeof(inband_shapes) / sizeof(inband_shapes[0]))

#endif
