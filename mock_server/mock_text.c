/* mock_text.c - plausible English from a fixed word list, one word per output token.
 *
 * mock_text_token only sees the rng and the token's index, so everything that needs memory
 * across tokens (where a sentence ends, hence which word is capitalised) is a function of the
 * index alone: sentence lengths come from a fixed table of 8..15 words, cycled. Word choice and
 * commas come from the rng, so replies differ by seed while their punctuation rhythm is shared. */
#include "mock_text.h"

#include <limits.h>
#include <string.h>

/* Short, frequent words that glue a sentence together; drawn about 40% of the time, which
 * is roughly their share in running English text. */
static const char *const text_glue[] = {
    "the",   "of",    "and",    "to",      "a",    "in",   "is",      "it",    "that",    "for",
    "you",   "was",   "with",   "on",      "as",   "have", "be",      "at",    "by",      "this",
    "from",  "or",    "but",    "not",     "are",  "we",   "they",    "which", "an",      "can",
    "will",  "would", "there",  "their",   "all",  "so",   "if",      "more",  "when",    "what",
    "about", "one",   "some",   "into",    "than", "then", "could",   "its",   "also",    "only",
    "other", "these", "most",   "may",     "each", "over", "such",    "very",  "through", "where",
    "while", "after", "before", "because", "both", "many", "between", "under", "should",  "our",
};

/* Content words: nouns, verbs, adjectives and adverbs of everyday and technical prose. */
static const char *const text_content[] = {
    "time",     "people",    "way",        "day",       "world",    "life",     "work",
    "system",   "program",   "question",   "number",    "part",     "place",    "case",
    "point",    "group",     "problem",    "fact",      "idea",     "result",   "model",
    "request",  "server",    "client",     "answer",    "reason",   "change",   "order",
    "level",    "process",   "service",    "network",   "data",     "value",    "method",
    "design",   "example",   "language",   "history",   "research", "market",   "energy",
    "water",    "city",      "country",    "school",    "family",   "company",  "team",
    "power",    "story",     "purpose",    "theory",    "picture",  "morning",  "evening",
    "window",   "garden",    "river",      "mountain",  "music",    "paper",    "letter",
    "friend",   "teacher",   "student",    "computer",  "machine",  "memory",   "signal",
    "pattern",  "structure", "message",    "thread",    "queue",    "buffer",   "channel",
    "response", "latency",   "throughput", "benchmark", "measure",  "detail",   "feature",
    "surface",  "distance",  "season",     "weather",   "journey",  "balance",  "make",
    "take",     "find",      "give",       "tell",      "become",   "leave",    "feel",
    "bring",    "begin",     "keep",       "hold",      "write",    "stand",    "hear",
    "allow",    "meet",      "include",    "continue",  "learn",    "follow",   "create",
    "speak",    "read",      "spend",      "grow",      "open",     "walk",     "offer",
    "remember", "consider",  "appear",     "build",     "serve",    "expect",   "suggest",
    "explain",  "develop",   "carry",      "reach",     "decide",   "produce",  "describe",
    "improve",  "compare",   "discover",   "observe",   "support",  "return",   "handle",
    "reduce",   "increase",  "explore",    "connect",   "good",     "new",      "first",
    "last",     "long",      "great",      "little",    "own",      "old",      "right",
    "big",      "high",      "different",  "small",     "large",    "next",     "early",
    "young",    "important", "public",     "private",   "simple",   "clear",    "careful",
    "quiet",    "bright",    "steady",     "gentle",    "common",   "certain",  "possible",
    "special",  "recent",    "similar",    "local",     "general",  "natural",  "useful",
    "strong",   "quick",     "slow",       "fair",      "often",    "always",   "never",
    "usually",  "perhaps",   "really",     "quickly",   "slowly",   "together", "already",
    "almost",   "finally",   "rather",     "still",     "again",    "soon",     "later",
    "instead",  "clearly",   "certainly",  "probably",  "simply",   "mostly",   "nearly",
    "library",  "reader",    "writer",     "engineer",  "author",   "figure",   "table",
    "chapter",  "section",   "sentence",   "word",      "line",     "moment",   "minute",
    "hour",     "week",      "month",      "year",      "light",    "sound",    "color",
    "shape",    "size",      "weight",     "path",      "road",     "bridge",   "harbor",
    "island",   "forest",
};

#define TEXT_N(a) (sizeof(a) / sizeof((a)[0]))

/* Sentence lengths in words, cycled; fixed so that a token's place in its sentence is a
 * function of its index (see the top of the file). One list, expanded twice: the table and its
 * sum, a compile-time constant rather than 32 additions per token. */
/* clang-format off */
#define TEXT_SENTENCES(X) \
    X(13) X(10) X(14) X(8)  X(9) X(9)  X(13) X(8)  X(11) X(8)  X(9)  X(14) X(14) X(9) X(11) X(9)  \
    X(14) X(8)  X(9)  X(11) X(8) X(14) X(8)  X(11) X(8)  X(10) X(12) X(14) X(10) X(9) X(12) X(10)
/* clang-format on */
#define TEXT_LEN_ITEM(n) n,
#define TEXT_SUM_ITEM(n) +(n)
static const unsigned char text_sentence_len[] = {TEXT_SENTENCES(TEXT_LEN_ITEM)};
enum { TEXT_CYCLE = 0 TEXT_SENTENCES(TEXT_SUM_ITEM) };

/* Where token i sits in its sentence (0 for the first word); *len gets the sentence's length.
 * Replies are short, so the scan usually stops within the first few sentences. */
static size_t text_position(size_t i, size_t *len)
{
    size_t pos = i % TEXT_CYCLE;
    for (size_t k = 0;; k++) {
        if (pos < text_sentence_len[k]) {
            *len = text_sentence_len[k];
            return pos;
        }
        pos -= text_sentence_len[k];
    }
}

size_t mock_text_token(struct mock_rng *r, size_t i, char *buf)
{
    /* One draw per token whatever comes out, so token i always uses the i-th draw. The high
     * bits of xorshift64* are its best: the word index comes from there. */
    uint64_t x = mock_rng_next(r);
    unsigned glue_pick = (unsigned)(x >> 8) & 0xff;   /* < 102: glue word (~40%) */
    unsigned comma_pick = (unsigned)(x >> 16) & 0xff; /* < 20: comma (~8%) */
    uint32_t word_pick = (uint32_t)(x >> 32);
    const char *w = glue_pick < 102 ? text_glue[word_pick % TEXT_N(text_glue)]
                                    : text_content[word_pick % TEXT_N(text_content)];
    size_t len;
    size_t pos = text_position(i, &len);
    size_t n = 0;

    if (i > 0)
        buf[n++] = ' ';
    size_t wl = strlen(w); /* every word is far below MOCK_TEXT_TOKEN_MAX - 3 */
    memcpy(buf + n, w, wl);
    if (pos == 0 && buf[n] >= 'a' && buf[n] <= 'z')
        buf[n] = (char)(buf[n] - 'a' + 'A');
    n += wl;
    /* Commas only inside a sentence, never after its first word or before its period. */
    if (pos + 1 == len)
        buf[n++] = '.';
    else if (pos > 0 && pos + 2 < len && comma_pick < 20)
        buf[n++] = ',';
    buf[n] = '\0';
    return n;
}

int mock_text_count_tokens(const char *text, size_t len)
{
    (void)text; /* bytes / 4 is what the usage block promises; the content does not matter */
    size_t n = len / 4 + (len % 4 != 0);
    if (n < 1)
        return 1;
    return n > INT_MAX ? INT_MAX : (int)n;
}
