/**
 * `npx pnpm turbo gen provider`: scaffolds packages/provider-<name>, a new OpenAI-compatible provider on core's
 * provider builder, with OpenAI-shaped conformance fixtures, a conformance test, a fixture folder, a README and a
 * changeset. Non-interactive: `npx pnpm turbo gen provider --args <name> "<Display Name>" <baseURL> <API_KEY_ENV> <default-model>`.
 * See docs/adding-a-provider.md.
 */
import type { PlopTypes } from "@turbo/gen"

const pascal = (name: string) =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("")

export default function generator(plop: PlopTypes.NodePlopAPI): void {
  plop.setHelper("pascal", pascal)
  plop.setHelper("upper", (text: string) => text.toUpperCase().replace(/[^A-Z0-9]+/g, "_"))
  plop.setGenerator("provider", {
    description: "A new OpenAI-compatible provider package on @conduitkit/core's provider builder",
    prompts: [
      {
        type: "input",
        name: "name",
        message: "Provider id (lower case, used in model names such as <id>/<model>):",
        validate: (input: string) => /^[a-z][a-z0-9-]*$/.test(input) || "lower-case letters, digits and dashes"
      },
      { type: "input", name: "displayName", message: "Display name (e.g. DeepSeek):" },
      {
        type: "input",
        name: "baseURL",
        message: "Default base URL (OpenAI-compatible, ending before /chat/completions):",
        validate: (input: string) => /^https?:\/\/.+/.test(input) || "an http(s) URL"
      },
      {
        type: "input",
        name: "apiKeyEnv",
        message: "Environment variable holding the API key:",
        validate: (input: string) => /^[A-Z][A-Z0-9_]*$/.test(input) || "UPPER_SNAKE_CASE"
      },
      { type: "input", name: "defaultModel", message: "Default model id:" }
    ],
    actions: [
      {
        type: "addMany",
        destination: "{{ turbo.paths.root }}/packages/provider-{{ name }}",
        base: "templates/provider",
        templateFiles: "templates/provider/**/*",
        globOptions: { dot: true },
        stripExtensions: ["hbs"]
      },
      {
        type: "add",
        path: "{{ turbo.paths.root }}/.changeset/provider-{{ name }}-initial.md",
        template:
          '---\n"@conduitkit/provider-{{ name }}": minor\n---\n\nFirst release of the {{ displayName }} provider: an `effect/ai` model and a Promise client on `@conduitkit/core`.\n'
      }
    ]
  })
}
