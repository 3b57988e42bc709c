/**
 * Reading a request's JSON body within the gateway's size limit (`CONDUIT_MAX_BODY_BYTES`): the one place a route
 * touches the request's bytes.
 */
import { ByteSize, Effect } from "effect"
import { HttpIncomingMessage, type HttpServerRequest } from "effect/http"
import * as Errors from "./Errors.js"

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * The deepest nesting of arrays and objects a request body may have (OpenAI requests, tool schemas included, stay
 * far below it). Deeper bodies are refused before they are parsed: passed through, they would exhaust the stack of
 * whatever walks them next (the encoder, the SDK, a log).
 */
export const maxDepth = 128

/**
 * Whether the JSON text nests arrays and objects more than `limit` deep: one pass over the characters, skipping
 * strings (with their escapes), without recursion. Pure; does not validate the JSON.
 */
export const nestedDeeperThan = (text: string, limit: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92)
        i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      if (++depth > limit) return true
    } else if (c === 125 || c === 93) depth--
  }
  return false
}

/**
 * Reads and parses a JSON body of at most `maxBytes` bytes. Fails with a {@link Errors.GatewayError}: 413 when the
 * body (or its declared `content-length`) is too large, 400 `invalid_encoding` for invalid UTF-8, 400
 * `invalid_json` for malformed or truncated JSON or a body nested deeper than {@link maxDepth}.
 */
export const readJson = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<unknown, Errors.GatewayError> => {
  const declared = request.headers["content-length"]
  if (declared !== undefined && Number(declared) > maxBytes) return Effect.fail(Errors.tooLarge(maxBytes))
  return request.arrayBuffer.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBytes)),
    Effect.mapError((error) =>
      error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
        ? Errors.tooLarge(maxBytes)
        : Errors.badRequest("The request body could not be read.", "invalid_body")
    ),
    Effect.flatMap((buffer) => {
      let text: string
      try {
        text = utf8.decode(buffer)
      } catch {
        return Effect.fail(Errors.badRequest("The request body is not valid UTF-8.", "invalid_encoding"))
      }
      if (text.trim() === "") {
        return Effect.fail(Errors.badRequest("The request body is empty; send a JSON object.", "invalid_json"))
      }
      if (nestedDeeperThan(text, maxDepth)) {
        return Effect.fail(
          Errors.badRequest(
            `The request body nests arrays and objects more than ${maxDepth} levels deep.`,
            "invalid_json"
          )
        )
      }
      try {
        return Effect.succeed(JSON.parse(text) as unknown)
      } catch (error) {
        return Effect.fail(
          Errors.badRequest(
            `We could not parse the JSON body of your request (${error instanceof Error ? error.message : String(error)}).`,
            "invalid_json"
          )
        )
      }
    })
  )
}
