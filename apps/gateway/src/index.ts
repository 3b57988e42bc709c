/**
 * @conduitkit/gateway as a library: the pieces other front doors (the MCP server) share with the gateway, so that
 * configuration, provider wiring, model routes, sessions, authentication, error mapping and logging have one
 * implementation. The gateway itself runs from `main` (the package's bin).
 */

/** Bearer-key authentication (SHA-256 digests, constant-time comparison, public key ids). */
export * as Auth from "./Auth.js"
/**
 * The engine every front door runs a model call on (`generate`, `stream`, `dependencies`): routes and fallbacks,
 * cooldowns, retry budgets, sessions, conversations, rate limits and budgets, metrics and cost.
 */
export * as Engine from "./Engine.js"
/** Every failure as an OpenAI error envelope with an HTTP status (`fromCause`, `toHttp`). */
export * as Errors from "./Errors.js"
/** The gateway as a layer (`layer`, `makeApp`) and the services it runs on (`services`). */
export * as Gateway from "./Gateway.js"
/** The configuration from the environment (`load`, `make`, `validate`). */
export * as GatewayConfig from "./GatewayConfig.js"
/** JSON-lines logging (`layer` with a sink). */
export * as Log from "./Log.js"
/** Model names to routes (`make`, `builtinModels`, `restrictTo`). */
export * as ModelRoutes from "./ModelRoutes.js"
/** The `/v1/models` listing (`modelJson`: one entry in OpenAI's shape plus Conduit's fields). */
export * as ModelsRoute from "./ModelsRoute.js"
/** Provider wiring: modes from the environment, simulations, clients (`fromConfig`, `wire`, `startSimulation`). */
export * as Providers from "./Providers.js"
