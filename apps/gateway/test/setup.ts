/**
 * Runs after every gateway test file: every answer its tests read must match OpenAI's published schema (see
 * OpenApiShapes.ts).
 */
import { afterAll } from "vitest"
import { validateRecorded } from "./OpenApiShapes.js"

afterAll(async () => {
  const { failures } = await validateRecorded()
  if (failures.length > 0) {
    throw new Error(`gateway answers that do not match OpenAI's schema:\n${failures.slice(0, 20).join("\n")}`)
  }
})
