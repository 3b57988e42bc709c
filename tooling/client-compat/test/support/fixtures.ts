/**
 * What the feature rows ask for, shared by every client: one function tool (its JSON Schema and its implementation)
 * and one object schema for structured output. Each client file writes them in its own idiom (a zod schema, an
 * Effect Schema, plain JSON Schema); these are the wire-level facts the rows compare against.
 */

/** The tool the model is offered: its name shares a word with {@link toolPrompt}, so the twin calls it. */
export const weatherTool = {
  name: "get_weather",
  description: "The current weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string", description: "The city name, e.g. Paris" } },
    required: ["city"],
    additionalProperties: false
  }
} as const

export const toolPrompt = "What is the weather in Paris?"

/** The tool's implementation: a fixed report for the city, so the final answer can be checked for it. */
export const weather = ({ city }: { readonly city: string }) => ({ city, temperature_c: 21, conditions: "sunny" })

/** The structured-output schema: a city and its country, with a population. */
export const citySchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    country: { type: "string" },
    population: { type: "integer" }
  },
  required: ["name", "country", "population"],
  additionalProperties: false
} as const

export const cityPrompt = "Describe Paris in France, which has 2100000 inhabitants."

/** Whether `value` has the shape of {@link citySchema}. */
export const isCity = (value: unknown): boolean => {
  if (typeof value !== "object" || value === null) return false
  const city = value as Record<string, unknown>
  return (
    typeof city.name === "string" &&
    typeof city.country === "string" &&
    Number.isInteger(city.population) &&
    Object.keys(city).every((key) => key in citySchema.properties)
  )
}
