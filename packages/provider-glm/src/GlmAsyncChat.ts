/**
 * Asynchronous chat: `POST /async/chat/completions` queues a request and answers at once with a task
 * (`{ id, request_id, model, task_status }`); `GET /async-result/{id}` answers `{ task_status, choices, usage, ... }`
 * with `task_status` `PROCESSING`, `SUCCESS` or `FAIL` (ZAI-SDK-PY `api_resource/chat/async_completions.py`,
 * `types/chat/async_chat_completion.py`; ZAI-OAS `/paas/v4/async-result/{id}`).
 *
 * {@link awaitResult} polls on an Effect `Schedule` (fixed spacing) until the task leaves `PROCESSING`, bounded by a
 * timeout; {@link generate} submits, waits and converts the answer to `effect/ai` response parts (reasoning, text,
 * tool calls, web-search sources, finish with usage).
 *
 * @since 0.1.0
 */
import {
  ChatCompletions,
  OpenAiCompatLanguageModel,
  type OpenAiCompatProvider,
  ProviderError,
  ResponseConversion
} from "@conduitkit/core"
import { Effect, Result, Schedule, Schema } from "effect"
import { AiError, type Response } from "effect/ai"
import { GlmClient } from "./GlmClient.js"
import type * as GlmConfig from "./GlmConfig.js"
import * as GlmModels from "./GlmModels.js"
import * as GlmProvider from "./GlmProvider.js"
import * as InlineThinking from "./internal/inlineThinking.js"
import * as Request from "./internal/request.js"
import * as WebSearch from "./internal/webSearch.js"

/**
 * A queued task.
 *
 * @since 0.1.0
 */
export const AsyncTask = Schema.Struct({
  id: Schema.String,
  request_id: Schema.optional(Schema.NullOr(Schema.String)),
  model: Schema.optional(Schema.NullOr(Schema.String)),
  task_status: Schema.String
})

/** @since 0.1.0 */
export type AsyncTask = typeof AsyncTask.Type

/**
 * A polled result: the task status, and once `SUCCESS` the chat completion fields (`choices`, `usage`, ...).
 *
 * @since 0.1.0
 */
export const AsyncResult = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  request_id: Schema.optional(Schema.NullOr(Schema.String)),
  model: Schema.optional(Schema.NullOr(Schema.String)),
  created: Schema.optional(Schema.NullOr(Schema.Number)),
  task_status: Schema.String,
  choices: Schema.optional(Schema.NullOr(Schema.Array(ChatCompletions.Choice))),
  usage: Schema.optional(Schema.NullOr(ChatCompletions.Usage)),
  web_search: Schema.optional(Schema.NullOr(Schema.Array(ChatCompletions.WebSearchResult)))
})

/** @since 0.1.0 */
export type AsyncResult = typeof AsyncResult.Type

/**
 * What to submit: a wire chat request (`model`, `messages` in OpenAI shapes, and parameters such as `temperature`,
 * `max_tokens`, `stop`, `tools`), and GLM provider options. The same shaping as the language model applies
 * (sampling ranges, one stop word, forced `tool_choice` per model, thinking).
 *
 * @since 0.1.0
 */
export interface SubmitRequest {
  readonly request: {
    readonly model: string
    readonly messages: ReadonlyArray<ChatCompletions.RequestMessage>
    readonly [key: string]: unknown
  }
  readonly providerOptions?: GlmConfig.ProviderOptions | undefined
}

/**
 * Polling: `intervalMs` between polls (default 2,000 ms), `timeoutMs` for the whole wait (default 300,000 ms).
 *
 * @since 0.1.0
 */
export interface PollOptions {
  readonly intervalMs?: number | undefined
  readonly timeoutMs?: number | undefined
}

const taskFailed = (result: AsyncResult) =>
  AiError.make({
    module: "GlmAsyncChat",
    method: "awaitResult",
    reason: new AiError.InternalProviderError({
      description: `the async chat task ${result.id ?? ""} ended with task_status ${result.task_status}`,
      metadata: {
        conduit: {
          kind: "async-task-failed",
          provider: "glm",
          retryable: false,
          ...(result.request_id ? { requestId: result.request_id } : {})
        }
      }
    })
  })

/**
 * Queues a request. Fails before sending when the shaping refuses it (`InvalidRequestError`).
 *
 * @since 0.1.0
 */
export const submit = (
  params: SubmitRequest
): Effect.Effect<AsyncTask, AiError.AiError, OpenAiCompatProvider.ProviderClient> =>
  Effect.gen(function* () {
    const client = yield* GlmClient
    const info = yield* GlmModels.catalog.resolve(params.request.model)
    const shaped = Request.shape(
      { ...params.request, messages: [...params.request.messages], model: info.id },
      {
        model: info,
        features: GlmModels.features(info),
        providerOptions: params.providerOptions,
        streaming: false,
        // the same decision as the language model: built with plan "coding", or a coding endpoint URL
        preservedThinkingByDefault: GlmProvider.isCodingClient(client)
      }
    )
    if (Result.isFailure(shaped)) return yield* Effect.fail(shaped.failure)
    const { stream: _stream, stream_options: _options, ...body } = shaped.success
    const response = yield* client.request({
      method: "post",
      path: "/async/chat/completions",
      body,
      schema: AsyncTask
    })
    return response.body
  })

/**
 * Polls once (`GET /async-result/{id}`).
 *
 * @since 0.1.0
 */
export const result = (id: string): Effect.Effect<AsyncResult, AiError.AiError, OpenAiCompatProvider.ProviderClient> =>
  Effect.flatMap(GlmClient, (client) =>
    client
      .request({ method: "get", path: `/async-result/${encodeURIComponent(id)}`, schema: AsyncResult })
      .pipe(Effect.map((response) => response.body))
  )

/**
 * Polls until the task is done: the completed result on `SUCCESS`; `InternalProviderError`
 * (`conduit.kind = "async-task-failed"`, not retryable) on `FAIL` or any other final status; a `total` timeout
 * (`conduit.kind = "timeout"`) when `timeoutMs` passes first. Poll failures (HTTP errors) end the wait.
 *
 * @since 0.1.0
 */
export const awaitResult = (
  id: string,
  options: PollOptions = {}
): Effect.Effect<AsyncResult, AiError.AiError, OpenAiCompatProvider.ProviderClient> => {
  const intervalMs = options.intervalMs ?? 2_000
  const timeoutMs = options.timeoutMs ?? 300_000
  return result(id).pipe(
    Effect.repeat({
      schedule: Schedule.spaced(intervalMs),
      until: (polled: AsyncResult) => polled.task_status !== "PROCESSING"
    }),
    Effect.timeoutOrElse({
      duration: timeoutMs,
      orElse: () =>
        Effect.fail(
          ProviderError.timeout({
            kind: "total",
            limitMs: timeoutMs,
            provider: "glm",
            module: "GlmAsyncChat",
            method: "awaitResult"
          })
        )
    }),
    Effect.flatMap((polled) =>
      polled.task_status === "SUCCESS" ? Effect.succeed(polled) : Effect.fail(taskFailed(polled))
    )
  )
}

/**
 * The parts of a completed result (pure): `response-metadata`, `reasoning`, `text`, `tool-call`, web-search
 * `source` parts and `finish` with usage. The finish-failure rules of normal chat apply
 * (`GlmProvider.finishFailures`): `finish_reason: "network_error"` fails with the retryable
 * `InternalProviderError` (`conduit.kind = "finish-network-error"`), `model_context_window_exceeded` without any
 * output with the context-length `InvalidRequestError`. Inline `<think>` reasoning is split out for the models whose
 * catalog entry says so, as in normal chat. Fails also for tool-call arguments that are not JSON.
 *
 * @since 0.1.0
 */
export const toParts = (completed: AsyncResult): Result.Result<Array<Response.PartEncoded>, AiError.AiError> => {
  const choice = completed.choices?.[0]
  const raw = typeof choice?.finish_reason === "string" ? choice.finish_reason : undefined
  const rule = OpenAiCompatLanguageModel.finishFailureFor(
    GlmProvider.declarations,
    raw,
    OpenAiCompatLanguageModel.messageHasOutput(choice?.message)
  )
  if (rule !== undefined && raw !== undefined) {
    return Result.fail(
      ProviderError.finishFailure({
        provider: GlmProvider.name,
        finishReason: raw,
        rule,
        requestId: completed.request_id ?? completed.id ?? undefined
      })
    )
  }
  const features = completed.model ? GlmModels.get(completed.model)?.glm : undefined
  const body = InlineThinking.transformCompletion(
    { ...completed, choices: completed.choices ?? [] } as unknown as ChatCompletions.ChatCompletion,
    InlineThinking.optionsOf(features)
  )
  return ResponseConversion.fromCompletion(body, {
    finishReasons: GlmProvider.finishReasons,
    extraParts: WebSearch.extraParts
  })
}

/**
 * Submits, waits ({@link awaitResult}) and converts: the task, the completed result and its parts.
 *
 * @since 0.1.0
 */
export const generate = (
  params: SubmitRequest,
  options: PollOptions = {}
): Effect.Effect<
  {
    readonly task: AsyncTask
    readonly result: AsyncResult
    readonly parts: ReadonlyArray<Response.PartEncoded>
  },
  AiError.AiError,
  OpenAiCompatProvider.ProviderClient
> =>
  Effect.gen(function* () {
    const task = yield* submit(params)
    const completed = yield* awaitResult(task.id, options)
    const parts = toParts(completed)
    if (Result.isFailure(parts)) return yield* Effect.fail(parts.failure)
    return { task, result: completed, parts: parts.success }
  })
