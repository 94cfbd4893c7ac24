// The official OpenAI Node client against mockllm: a plain completion, a stream with usage, the
// model list, and a typed error. Usage: node check.mjs BASE_URL   (e.g. http://127.0.0.1:PORT/v1)
import OpenAI from "openai";

const baseURL = process.argv[2];
const client = new OpenAI({ baseURL, apiKey: "sk-mock", maxRetries: 0, timeout: 10000 });
const messages = [{ role: "user", content: "Say something plausible." }];
const fail = (why) => { console.error(`openai-client: ${why}`); process.exit(1); };

const plain = await client.chat.completions.create({ model: "gpt-mock", messages, max_tokens: 12 });
const text = plain.choices[0].message.content;
if (plain.object !== "chat.completion" || typeof text !== "string" || text.length === 0)
  fail(`bad completion ${JSON.stringify(plain)}`);
if (plain.usage.completion_tokens !== 12 && plain.choices[0].finish_reason !== "stop")
  fail(`usage ${JSON.stringify(plain.usage)}`);

const stream = await client.chat.completions.create({
  model: "gpt-mock", messages, max_tokens: 12, stream: true,
  stream_options: { include_usage: true },
});
let joined = "", usage = null, finish = null, chunks = 0;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) {
    joined += c.delta?.content ?? "";
    if (c.finish_reason) finish = c.finish_reason;
  }
}
if (joined !== text) fail(`stream "${joined}" != plain "${text}"`);
if (!usage || usage.completion_tokens !== plain.usage.completion_tokens) fail("stream usage missing");
if (!finish) fail("stream without finish_reason");

const models = await client.models.list();
if (!models.data.some((m) => m.id === "gpt-mock")) fail("gpt-mock not listed");
const one = await client.models.retrieve("gpt-mock");
if (one.id !== "gpt-mock" || one.object !== "model") fail(`models.retrieve: ${JSON.stringify(one)}`);
try {
  await client.models.retrieve("gpt-nosuch");
  fail("unknown model retrieved");
} catch (e) {
  if (!(e instanceof OpenAI.NotFoundError)) fail(`expected NotFoundError, got ${e}`);
}

try {
  await client.chat.completions.create({ model: "gpt-mock", messages: "not an array" });
  fail("bad request accepted");
} catch (e) {
  if (!(e instanceof OpenAI.BadRequestError)) fail(`expected BadRequestError, got ${e}`);
}
console.log(`openai-client: ok (${chunks} chunks, ${usage.completion_tokens} tokens, finish=${finish})`);
