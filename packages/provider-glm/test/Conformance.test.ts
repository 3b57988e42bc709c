/**
 * Core's provider conformance suite, run against GLM with the authored scenario data of the testing entry point.
 */
import { Conformance } from "@conduitkit/core/testing"
import { Layer } from "effect"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmLanguageModel from "../src/GlmLanguageModel.js"
import * as GlmScenarios from "../src/testing/GlmScenarios.js"

const baseURL = "https://conformance.z.ai.test/api/paas/v4"

Conformance.runProviderConformance({
  name: "glm",
  assemblesNonStream: true,
  baseURL,
  layer: GlmLanguageModel.layer("glm-4.6").pipe(Layer.provide(GlmClient.layer({ apiKey: "test-key", baseURL }))),
  fixtures: GlmScenarios.conformance
})
