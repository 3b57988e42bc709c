/**
 * The demo's tools and structured-output schema, shared by the tour and `demo chat --tools` / `--structured`: two
 * function tools answered locally (canned weather, the time in a zone), and a weather report schema.
 */
import { Effect, Schema } from "effect"
import { Tool, Toolkit } from "effect/ai"

/** `get_weather(city)`: a canned report (23 °C and sunny, wherever). */
export const GetWeather = Tool.make("get_weather", {
  description: "Current weather for a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number, sky: Schema.String })
})

/** `get_time(zone)`: the current time in one of a few zones, from this machine's clock. */
export const GetTime = Tool.make("get_time", {
  description: "Current local time in a time zone",
  parameters: Schema.Struct({ zone: Schema.Literals(["UTC", "Europe/Rome", "Asia/Shanghai", "America/New_York"]) }),
  success: Schema.Struct({ zone: Schema.String, time: Schema.String })
})

/** The weather tool alone (the tour's round trip). */
export const WeatherTools = Toolkit.make(GetWeather)

/** Both tools (`demo chat --tools`). */
export const ChatTools = Toolkit.make(GetWeather, GetTime)

const weather = ({ city }: { readonly city: string }) => Effect.succeed({ city, celsius: 23, sky: "sunny" })

/** The weather tool's local handler. */
export const WeatherHandlers = WeatherTools.toLayer({ get_weather: weather })

/** Both tools' local handlers. */
export const ChatHandlers = ChatTools.toLayer({
  get_weather: weather,
  get_time: ({ zone }) =>
    Effect.sync(() => ({
      zone,
      time: new Date().toLocaleTimeString("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" })
    }))
})

/** The structured-output schema of the tour and `demo chat --structured`. */
export const WeatherReport = Schema.Struct({
  city: Schema.String,
  celsius: Schema.Number,
  sky: Schema.Literals(["sunny", "cloudy", "rain"])
})
