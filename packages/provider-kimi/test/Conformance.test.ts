/**
 * Core's provider conformance suite for Kimi, on scenario data authored in `src/testing/KimiScenarios.ts` in the
 * recorded wire shapes (finish chunk with the usage inside `choices[0]`, trailing `choices: []` usage chunk, both
 * cached-token spellings, Moonshot's error bodies and 429 headers).
 */
import { Conformance } from "@conduitkit/core/testing"
import { KimiScenarios } from "../src/testing/index.js"
import { modelLayer } from "./helpers.js"

const baseURL = "https://conformance.kimi.test/v1"
const model = "kimi-k3"
const { chunks, completion, errors } = KimiScenarios

Conformance.runProviderConformance({
  name: "Kimi (kimi-k3)",
  assemblesNonStream: true,
  baseURL,
  layer: modelLayer(model, { baseURL }),
  fixtures: {
    completions: {
      text: { body: completion({ model, text: ["Hello there!"] }), text: "Hello there!" },
      toolCall: {
        body: completion({
          model,
          reasoning: ["Weather needs the tool."],
          toolCalls: [{ name: "get_weather", arguments: { location: "Paris" } }]
        }),
        location: "Paris"
      }
    },
    streams: {
      text: { chunks: chunks({ model, text: ["Hello", " there!"] }), text: "Hello there!" },
      reasoning: {
        chunks: chunks({ model, reasoning: ["The user", " wants a greeting."], text: ["Hi!"] }, { includeUsage: true }),
        reasoning: "The user wants a greeting.",
        text: "Hi!"
      },
      toolCall: {
        chunks: chunks(
          { model, toolCalls: [{ name: "get_weather", arguments: { location: "Oslo" } }] },
          { argumentPieces: 3 }
        ),
        location: "Oslo"
      },
      usage: {
        chunks: chunks(
          { model, text: ["ok"], usage: { prompt: 1200, completion: 300, cached: 1024, reasoning: 250 } },
          { includeUsage: true }
        ),
        usage: {
          inputTokens: 1200,
          outputTokens: 300,
          cachedInputTokens: 1024,
          reasoningTokens: 250,
          totalTokens: 1500
        }
      }
    },
    errors: {
      unauthorized: errors.invalidKey(),
      notFound: errors.modelNotFound(model),
      rateLimited: errors.rateLimited(1),
      quotaExhausted: errors.quotaExhausted(),
      serverError: errors.serverError(),
      contentPolicy: errors.contentFilter()
    }
  }
})
