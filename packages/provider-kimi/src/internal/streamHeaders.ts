/**
 * Stopgap for core: `OpenAiCompatClient.streamChatCompletion(request, limits, headers)` takes per-request headers
 * (core's `requestHeaders` hook) but does not send them; only `createChatCompletion` does. Until core forwards
 * them, a stream that has headers is opened through a transport built from the same configuration with the headers
 * added. Delete this module once core sends them (the test "by headers, streaming" in `KimiContextCache.test.ts`
 * guards the behaviour).
 */
import { OpenAiCompatClient } from "@conduit-llm/core"

/** `client` with per-request headers honoured on streams. */
export const withStreamHeaders = <C extends OpenAiCompatClient.OpenAiCompatClientShape>(client: C): C => ({
  ...client,
  streamChatCompletion: (request, limits, headers) =>
    headers === undefined || Object.keys(headers).length === 0
      ? client.streamChatCompletion(request, limits)
      : OpenAiCompatClient.make({
          ...client.config,
          headers: { ...client.config.headers, ...headers }
        }).streamChatCompletion(request, limits)
})
