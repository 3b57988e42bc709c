/**
 * The manager's lifecycle event hub: a sliding PubSub that lives in the manager's scope, and a count of
 * subscribers so that events are only built while someone listens.
 *
 * @internal
 */
import { Effect, PubSub, type Scope, Stream } from "effect"
import type { SessionEvent } from "../SessionEvents.js"

/** The hub. Check `listening` before building an event: nobody subscribed means nothing to publish. */
export class EventHub {
  private subscribers = 0

  constructor(private readonly pubsub: PubSub.PubSub<SessionEvent>) {}

  get listening(): boolean {
    return this.subscribers > 0
  }

  publish(event: SessionEvent): void {
    if (!PubSub.publishUnsafe(this.pubsub, event)) Effect.runSync(PubSub.publish(this.pubsub, event))
  }

  /** A subscription for the lifetime of the scope (counted while it lasts). */
  readonly subscribe: Effect.Effect<PubSub.Subscription<SessionEvent>, never, Scope.Scope> = Effect.flatMap(
    Effect.acquireRelease(
      Effect.sync(() => {
        this.subscribers++
      }),
      () =>
        Effect.sync(() => {
          this.subscribers--
        })
    ),
    () => PubSub.subscribe(this.pubsub)
  )

  /** The events from the moment the stream is run (each run subscribes anew). */
  readonly events: Stream.Stream<SessionEvent> = Stream.unwrap(Effect.map(this.subscribe, Stream.fromSubscription))
}

/** A hub buffering `bufferSize` events per subscriber, shut down when the current scope closes. */
export const make = (bufferSize: number): Effect.Effect<EventHub, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pubsub = yield* PubSub.sliding<SessionEvent>(bufferSize)
    yield* Effect.addFinalizer(() => PubSub.shutdown(pubsub))
    return new EventHub(pubsub)
  })
