/**
 * The Kimi client service tag, in a module of its own so that every Kimi module can require the client without
 * importing the provider builder (which imports the catalog, the error table and request shaping).
 *
 * Its key is the one core's provider builder gives the Kimi provider's client (`@conduitkit/provider-<name>/Client`),
 * so both name the same slot of an Effect `Context`.
 */
import type { OpenAiCompatProvider } from "@conduitkit/core"
import { Context } from "effect"

/**
 * The Kimi transport: core's OpenAI-compatible client (chat, streams, `request`, `use`) with the options it was
 * built with (key excluded).
 */
export class KimiClient extends Context.Service<KimiClient, OpenAiCompatProvider.ProviderClient>()(
  "@conduitkit/provider-kimi/Client"
) {}
