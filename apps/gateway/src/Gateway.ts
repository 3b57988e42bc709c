/**
 * The gateway: an OpenAI-compatible HTTP server on `effect/http` and `@effect/platform-node`.
 *
 * Routes:
 * - `POST /v1/chat/completions` (see `ChatRoute`);
 * - `POST /v1/messages`, `POST /v1/messages/count_tokens`: the Anthropic Messages API (see `MessagesRoute`);
 * - `POST /v1/embeddings` (see `EmbeddingsRoute`): the embedding models of the providers that have them;
 * - `GET /v1/models`, `GET /v1/models/{name}`: every routable name with its target, fallbacks, context window and
 *   capabilities (OpenAI list shape plus these fields; see `ModelsRoute`);
 * - `GET /healthz`: `{ status, reasons?, providers, simulated, cooldowns? }` (`degraded` with reasons while Redis is away
 *   or a provider cools down; 503 `shutting_down` once SIGTERM arrived; `simulated`: the
 *   providers answered by their simulation, whose responses carry `x-conduit-simulated: true`);
 * - `GET /metrics`: Prometheus text (see `Metrics`), with the session manager's stats.
 *
 * `/v1/*` needs a key from `CONDUIT_API_KEYS` (as `Authorization: Bearer` or `x-api-key`) when keys are configured; `/healthz` and `/metrics` never do.
 * Every response carries `x-request-id` (the client's, when it sent a well-formed one). Each request writes one JSON
 * access log line (ids, model, provider, status, timings, token counts; never keys or bodies).
 *
 * State: in memory, or in Redis when `REDIS_URL` is set (response cache and idempotency keys through
 * `@conduitkit/cache`'s `RedisStore`, which is also the `CacheStore` providers use for context-cache ids; rate limits
 * through `RateLimits.layerRedisFailover`, budgets of models.yaml's `keys:` included; conversations through `Conversation.layerRedis`), one connection shared by all.
 *
 * Shutdown (SIGTERM, or closing the layer's scope): the listener closes at once, open requests and streams may
 * finish until `CONDUIT_SHUTDOWN_GRACE_MS`; shortly before it, streams still open end with a final error frame
 * (`server_shutting_down`), and whatever is left is interrupted (upstream requests aborted) at the deadline.
 */
import * as http from "node:http"
import { MemoryStore, RedisStore, ResponseCache } from "@conduitkit/cache"
import type { ModelsConfig, ProviderRegistry } from "@conduitkit/core"
import { Conversation, RateLimits, SessionManager } from "@conduitkit/session"
// subpaths: the package's index loads every module it has (workers, sockets, the undici client...)
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Deferred, Duration, Effect, Layer, Option, type Scope, type Tracer } from "effect"
import { HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Auth from "./Auth.js"
import * as ChatRequest from "./ChatRequest.js"
import * as ChatRoute from "./ChatRoute.js"
import * as Connections from "./Connections.js"
import * as EmbeddingsRoute from "./EmbeddingsRoute.js"
import * as Engine from "./Engine.js"
import * as Errors from "./Errors.js"
import * as GatewayConfig from "./GatewayConfig.js"
import * as Log from "./Log.js"
import * as MessagesRoute from "./MessagesRoute.js"
import * as Metrics from "./Metrics.js"
import * as ModelRoutes from "./ModelRoutes.js"
import * as ModelsRoute from "./ModelsRoute.js"
import * as Observability from "./Observability.js"
import type * as Providers from "./Providers.js"
import * as StoreHealth from "./StoreHealth.js"

/**
 * What a gateway is made of.
 *
 * - `providers`: registry entries (see `Providers.wire`, `Providers.backends`).
 * - `models`: the parsed models.yaml; default: `ModelRoutes.builtinModels` restricted to `providers`.
 * - `status`: each provider's mode, shown by `/healthz`.
 * - `log`: where JSON log lines go (default stdout).
 */
export interface Options {
  readonly config: GatewayConfig.GatewayConfig
  readonly providers: ReadonlyArray<ProviderRegistry.ProviderEntry>
  readonly models?: ModelsConfig.ModelsConfig | undefined
  readonly status?: ReadonlyArray<Providers.Status> | undefined
  readonly log?: ((line: string) => void) | undefined
}

/** Shutdown state: `draining()` after SIGTERM; `deadline` completes shortly before the grace period ends. */
export interface Shutdown {
  readonly draining: () => boolean
  readonly deadline: Effect.Effect<void>
  /**
   * Starts draining (idempotent): the deadline fires after `graceMs` minus a margin (at most 500 ms), and `idle` is
   * called every 100 ms until then (the server closes its idle keep-alive connections, so the listener's close
   * completes as soon as the last response is written).
   */
  readonly begin: (idle?: () => void) => void
}

const makeShutdown = (graceMs: number): Effect.Effect<Shutdown> =>
  Effect.map(Deferred.make<void>(), (deferred) => {
    let draining = false
    return {
      draining: () => draining,
      deadline: Deferred.await(deferred),
      begin: (idle) => {
        if (draining) return
        draining = true
        const margin = Math.min(500, Math.floor(graceMs / 10))
        const sweep = idle === undefined ? undefined : setInterval(idle, 100)
        sweep?.unref()
        const timer = setTimeout(
          () => {
            if (sweep !== undefined) clearInterval(sweep)
            Deferred.doneUnsafe(deferred, Effect.void)
          },
          Math.max(0, graceMs - margin)
        )
        timer.unref()
      }
    }
  })

/** The gateway's request handler and state (for tests and embedding). */
export interface App {
  readonly handler: Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    never,
    HttpServerRequest.HttpServerRequest | Scope.Scope
  >
  readonly routes: ModelRoutes.ModelRoutes
  readonly metrics: Metrics.GatewayMetrics
  readonly shutdown: Shutdown
}

const json = (body: unknown, requestId: string, status = 200) =>
  HttpServerResponse.text(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "x-request-id": requestId }
  })

/** The endpoint label of a path (metrics and logs). */
const endpointOf = (path: string): string =>
  path === "/v1/chat/completions"
    ? "chat"
    : path === "/v1/messages"
      ? "messages"
      : path === "/v1/messages/count_tokens"
        ? "count_tokens"
        : path === "/v1/embeddings"
          ? "embeddings"
          : path === "/v1/models" || path.startsWith("/v1/models/")
            ? "models"
            : path === "/healthz" || path === "/readyz"
              ? "healthz"
              : path === "/metrics"
                ? "metrics"
                : "other"

/**
 * Reports a request once, whatever answered it: the request metrics and, except for `/healthz` and `/metrics`, one
 * access log line with the request's `fields`.
 */
const reporter = (
  metrics: Metrics.GatewayMetrics,
  request: {
    readonly requestId: string
    readonly method: string
    readonly path: string
    readonly endpoint: string
    readonly startedAt: number
    readonly fields: Record<string, unknown>
  }
): ((status: number) => Effect.Effect<void>) => {
  let reported = false
  return (status) =>
    Effect.suspend(() => {
      if (reported) return Effect.void
      reported = true
      const ms = performance.now() - request.startedAt
      metrics.requestEnded()
      metrics.request(request.endpoint, status, ms / 1000, request.fields.stream === true)
      if (request.endpoint === "healthz" || request.endpoint === "metrics") return Effect.void
      return Effect.logInfo("request").pipe(
        Effect.annotateLogs({
          requestId: request.requestId,
          method: request.method,
          path: request.path,
          status,
          ms: Math.round(ms * 100) / 100,
          ...request.fields
        })
      )
    })
}

/**
 * Builds the handler over the session manager (and, when configured, conversations) in context.
 */
export const makeApp = (
  options: Options,
  /** More Prometheus text for `/metrics` (the server's connection counts). */
  moreMetrics: () => string = () => ""
): Effect.Effect<App, never, SessionManager.SessionManager> =>
  Effect.gen(function* () {
    const { config } = options
    const sessions = yield* SessionManager.SessionManager
    const conversations = Option.getOrUndefined(yield* Effect.serviceOption(Conversation.Conversation))
    const health = Option.getOrElse(yield* Effect.serviceOption(StoreHealth.StoreHealth), () => ({
      reasons: (): ReadonlyArray<string> => []
    }))
    const routes = ModelRoutes.forProviders(options.providers, options.models, options.status)
    const metrics = Metrics.make()
    const shutdown = yield* makeShutdown(config.shutdownGraceMs)
    const auth = Auth.make(config.apiKeys)
    const modes = new Map<string, string>(options.providers.map((entry) => [entry.name, entry.mode ?? "live"] as const))
    const listing = ModelsRoute.make(routes, modes)
    const status = (
      options.status ?? options.providers.map((entry) => ({ name: entry.name, mode: entry.mode ?? "live" }))
    ).map(({ name, mode }) => ({ name, mode }))
    const simulated = new Set(status.filter((entry) => entry.mode === "simulated").map((entry) => entry.name))
    const deps = Engine.dependencies({ config, routes, sessions, conversations, metrics, shutdown })
    const { retryBudget, cooldowns } = deps
    const embeddingDeps: EmbeddingsRoute.Dependencies = {
      config,
      sessions,
      metrics,
      resolver: {
        providers: routes.registry.providers,
        aliases: new Map(routes.list().map((entry) => [entry.name, entry] as const))
      }
    }

    const dispatch = (
      request: HttpServerRequest.HttpServerRequest,
      span: Tracer.Span | undefined
    ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope> => {
      const startedAt = performance.now()
      const url = request.url
      const query = url.indexOf("?")
      const path = query === -1 ? url : url.slice(0, query)
      const method = request.method
      const given = request.headers["x-request-id"]
      const requestId = given !== undefined && ChatRequest.identifier.test(given) ? given : `req_${crypto.randomUUID()}`
      const fields: Record<string, unknown> = {}
      const endpoint = endpointOf(path)
      metrics.requestStarted()
      const report = reporter(metrics, { requestId, method, path, endpoint, startedAt, fields })
      // with tracing on, the request span gets the access log's fields when the request is reported (for a stream:
      // when it ends)
      const done = span === undefined ? report : Observability.reporting(span, requestId, fields, report)
      const fail = (error: Errors.GatewayError) => {
        const http = error.toHttp()
        metrics.error(endpoint, http.body.error.code ?? http.body.error.type)
        fields.error = http.body.error.code
        // the Anthropic front door answers in Anthropic's envelope, from the first check on
        const response =
          endpoint === "messages" || endpoint === "count_tokens"
            ? MessagesRoute.errorResponse(http, requestId)
            : Errors.errorResponse(http, requestId)
        return Effect.as(
          done(http.status),
          shutdown.draining() ? HttpServerResponse.setHeader(response, "connection", "close") : response
        )
      }
      const answer = (response: HttpServerResponse.HttpServerResponse) => Effect.as(done(response.status), response)
      // a request still running at the shutdown deadline answers 503 `server_shutting_down` (envelope, request id and
      // access log line) instead of being cut without a word when the server's grace period ends
      const untilDeadline = (
        route: Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope>
      ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope> =>
        Effect.raceFirst(
          route,
          Effect.andThen(
            shutdown.deadline,
            Effect.suspend(() => fail(Errors.shuttingDown))
          )
        )
      const readOnly = method === "GET" || method === "HEAD"
      // a client that leaves before the response starts interrupts the request: it is logged (499, nginx's "client
      // closed request") and every gauge it raised comes down
      return Effect.onInterrupt(route(), () => {
        fields.error ??= "client_closed_request"
        return done(499)
      })

      function route(): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope> {
        if (path.startsWith("/v1/")) {
          const result = auth.check(request.headers.authorization, request.headers["x-api-key"])
          if (result._tag === "Missing") return fail(Errors.missingKey)
          if (result._tag === "Invalid") return fail(Errors.invalidKey)
          fields.key = result.keyId
          if (path === "/v1/chat/completions") {
            if (method !== "POST") return fail(Errors.methodNotAllowed(method, path, "POST"))
            if (shutdown.draining()) return fail(Errors.shuttingDown)
            return untilDeadline(
              ChatRoute.handle(deps, request, { requestId, keyId: result.keyId, startedAt, fields, done })
            )
          }
          if (endpoint === "messages" || endpoint === "count_tokens") {
            if (method !== "POST") return fail(Errors.methodNotAllowed(method, path, "POST"))
            if (shutdown.draining()) return fail(Errors.shuttingDown)
            return untilDeadline(
              MessagesRoute.handle(deps, request, { requestId, keyId: result.keyId, startedAt, fields, done }, endpoint)
            )
          }
          if (endpoint === "embeddings") {
            if (method !== "POST") return fail(Errors.methodNotAllowed(method, path, "POST"))
            if (shutdown.draining()) return fail(Errors.shuttingDown)
            return untilDeadline(
              EmbeddingsRoute.handle(embeddingDeps, request, {
                requestId,
                keyId: result.keyId,
                startedAt,
                fields,
                done
              })
            )
          }
          if (endpoint === "models") {
            if (!readOnly) return fail(Errors.methodNotAllowed(method, path, "GET"))
            if (path === "/v1/models") return answer(json(listing.list, requestId))
            const found = listing.lookup(path.slice("/v1/models/".length))
            return found.json === undefined
              ? fail(Errors.modelNotFound(found.name))
              : answer(json(found.json, requestId))
          }
          return fail(Errors.routeNotFound(method, path))
        }
        if (path === "/healthz") {
          if (!readOnly) return fail(Errors.methodNotAllowed(method, path, "GET"))
          const draining = shutdown.draining()
          const cooling = cooldowns.snapshot().filter((entry) => entry.state !== "closed")
          const reasons = [
            ...health.reasons(),
            ...cooling.map((entry) => `provider_cooling_down: ${entry.provider} (${entry.state})`)
          ]
          return answer(
            json(
              {
                status: draining ? "shutting_down" : reasons.length > 0 ? "degraded" : "ok",
                ...(reasons.length > 0 ? { reasons } : {}),
                providers: status,
                simulated: [...simulated],
                ...(cooling.length > 0
                  ? {
                      cooldowns: cooling.map(({ provider, state, retryInMs }) => ({
                        provider,
                        state,
                        ...(retryInMs !== undefined ? { retryInMs } : {})
                      }))
                    }
                  : {})
              },
              requestId,
              draining ? 503 : 200
            )
          )
        }
        if (path === "/readyz") {
          if (!readOnly) return fail(Errors.methodNotAllowed(method, path, "GET"))
          // not ready: draining, or Redis away while rate limits are fail-closed (every limited request would fail)
          const reasons = health.reasons()
          const ready = !shutdown.draining() && !(config.rateLimitFail === "closed" && reasons.length > 0)
          return answer(
            json(
              { status: ready ? "ready" : "not_ready", ...(reasons.length > 0 ? { reasons } : {}) },
              requestId,
              ready ? 200 : 503
            )
          )
        }
        if (path === "/metrics") {
          if (!readOnly) return fail(Errors.methodNotAllowed(method, path, "GET"))
          return Effect.flatMap(sessions.stats, (stats) =>
            answer(
              HttpServerResponse.text(
                metrics.render() +
                  Metrics.renderSessions(stats) +
                  Metrics.renderRetryBudget(retryBudget.byProvider()) +
                  Metrics.renderCooldowns(cooldowns.snapshot()) +
                  moreMetrics(),
                {
                  headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "x-request-id": requestId }
                }
              )
            )
          )
        }
        return fail(Errors.routeNotFound(method, path))
      }
    }

    // an answer of a simulated provider says so, whichever front door and route produced it
    const labelled = (response: HttpServerResponse.HttpServerResponse) => {
      const provider = response.headers["x-conduit-provider"]
      return provider !== undefined && simulated.has(provider)
        ? HttpServerResponse.setHeader(response, "x-conduit-simulated", "true")
        : response
    }
    const run = (request: HttpServerRequest.HttpServerRequest, span: Tracer.Span | undefined) =>
      // the server starts request fibers uninterruptible: a client that goes away must be able to interrupt us
      Effect.interruptible(
        simulated.size === 0 ? dispatch(request, span) : Effect.map(dispatch(request, span), labelled)
      )
    const handler = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      // with tracing on, Effect's HTTP server made the request span: the current one
      config.tracing === undefined
        ? run(request, undefined)
        : Effect.flatMap(Effect.option(Effect.currentSpan), (span) => run(request, Option.getOrUndefined(span)))
    )
    return { handler, routes, metrics, shutdown }
  })

/** The services a gateway runs on, from its configuration (memory or Redis). */
export const services = (
  config: GatewayConfig.GatewayConfig
): Layer.Layer<SessionManager.SessionManager | ResponseCache.ResponseCacheStats | StoreHealth.StoreHealth, unknown> => {
  const redis =
    config.redisUrl === undefined
      ? undefined
      : RedisStore.nodeRedisLayer(RedisStore.clientOptions({ url: config.redisUrl }))
  // with Redis away, the cache and idempotency keys carry on in this instance's memory
  const store =
    redis === undefined
      ? MemoryStore.layer()
      : Layer.unwrap(
          Effect.map(MemoryStore.make(), (fallback) => RedisStore.layerRedis({ prefix: "conduit:gateway:", fallback }))
        ).pipe(Layer.provide(redis))
  const cache = ResponseCache.layer({ cacheResponses: config.responseCache }).pipe(Layer.provideMerge(store))
  const limits = config.rateLimits
  const rateLimits =
    limits === undefined
      ? Layer.empty
      : redis === undefined
        ? RateLimits.layer(limits)
        : RateLimits.layerRedisFailover(
            { ...limits, prefix: "conduit:gateway:ratelimit:" },
            { failClosed: config.rateLimitFail === "closed" }
          ).pipe(Layer.provide(redis))
  const sessions = SessionManager.layer({
    maxConcurrent: config.sessions.maxConcurrent,
    maxConcurrentPerSession: config.sessions.maxConcurrentPerSession,
    maxQueued: config.sessions.maxQueued,
    queueTimeout: Duration.millis(config.sessions.queueTimeoutMs),
    ...(config.sessions.requestTimeoutMs !== undefined
      ? { timeout: Duration.millis(config.sessions.requestTimeoutMs) }
      : {})
  }).pipe(Layer.provide(rateLimits))
  const conversations = !config.conversations
    ? Layer.empty
    : redis === undefined
      ? Conversation.layerMemory()
      : Conversation.layerRedis().pipe(Layer.provide(redis))
  const health =
    redis === undefined
      ? StoreHealth.none
      : StoreHealth.layerRedis({ failClosed: config.rateLimitFail === "closed" }).pipe(Layer.provide(redis))
  return Layer.mergeAll(cache, sessions, conversations, health) as Layer.Layer<
    SessionManager.SessionManager | ResponseCache.ResponseCacheStats | StoreHealth.StoreHealth,
    unknown
  >
}

/** The running gateway's handle (the app's state and the bound address). */
export class Running extends Context.Service<Running, App & { readonly port: number; readonly url: string }>()(
  "@conduitkit/gateway/Running"
) {}

/**
 * The whole gateway as a layer: services, the Node HTTP server on `config.host:config.port` (port 0 picks a free
 * one) and the handler. Provides {@link Running}. Closing the layer's scope is the graceful shutdown described above.
 * `config`'s rate limits are joined by the limits of `models.keys` (see `GatewayConfig.withKeys`; {@link makeApp}
 * and {@link services} take the configuration as given).
 */
export const layer = (given: Options): Layer.Layer<Running | HttpServer.HttpServer, unknown> => {
  // the limits of models.yaml's keys join the rate limits of the environment
  const config = GatewayConfig.withKeys(given.config, given.models?.keys)
  const options: Options = { ...given, config }
  let nodeServer: http.Server | undefined
  let connections: Connections.Guard | undefined
  const limits: Connections.Limits = {
    maxConnections: config.connections.maxConnections ?? Connections.defaultMaxConnections(),
    headersTimeoutMs: config.connections.headersTimeoutMs,
    requestTimeoutMs: config.connections.receiveTimeoutMs,
    keepAliveTimeoutMs: config.connections.keepAliveTimeoutMs
  }
  const create = () => {
    nodeServer = http.createServer(Connections.serverOptions(limits))
    connections = Connections.guard(nodeServer, limits)
    return nodeServer
  }
  const server = NodeHttpServer.layer(create, {
    host: config.host,
    port: config.port,
    gracefulShutdownTimeout: Duration.millis(config.shutdownGraceMs)
  })
  const running = Layer.unwrap(
    Effect.gen(function* () {
      const app = yield* makeApp(options, () => connections?.render() ?? "")
      const serve = HttpServer.serve(app.handler)
      const handle = Layer.effect(
        Running,
        Effect.gen(function* () {
          const address = (yield* HttpServer.HttpServer).address
          const port = "port" in address ? address.port : 0
          // built after the listener: its finalizer runs first on shutdown and starts the drain deadline
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => app.shutdown.begin(() => nodeServer?.closeIdleConnections()))
          )
          return { ...app, port, url: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}` }
        })
      )
      return Layer.provideMerge(handle, serve)
    })
  )
  return running.pipe(
    Layer.provideMerge(server),
    Layer.provide(services(config)),
    Layer.provide(Log.layer(config.logLevel, options.log)),
    // the tracer outermost: built first, and flushed after the server and the services closed
    Layer.provide(Observability.layer(config.tracing))
  ) as Layer.Layer<Running | HttpServer.HttpServer, unknown>
}
