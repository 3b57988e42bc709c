/**
 * Single flight for streams, per process: one upstream run per key, shared by every concurrent subscriber.
 *
 * The upstream runs in a fiber of the owner's scope (not of any one caller), started by the first subscriber and
 * interrupted when the last subscriber leaves before it finished (so an abandoned call is cancelled, and a leader
 * whose client went away does not cancel the call for the others). A subscriber receives every item emitted so far
 * and then follows live; all subscribers end with the upstream's exit.
 *
 * @internal
 */
import { type Cause, Effect, Exit, Fiber, Queue, type Scope, Stream } from "effect"

/** @internal */
export interface Hooks<A, E> {
  /** After a successful upstream, while late subscribers can still join the finished flight. Must not fail. */
  readonly onSuccess: (items: ReadonlyArray<A>) => Effect.Effect<void>
  /** After a failed or interrupted upstream (the flight is already forgotten). Must not fail. */
  readonly onFailure: (cause: Cause.Cause<E>) => Effect.Effect<void>
}

/** @internal */
export interface Flight<A, E> {
  readonly key: string
  /** What the flight was started for (the idempotency store keeps the request fingerprint here). */
  readonly meta: string
  readonly buffer: Array<A>
  readonly listeners: Set<Queue.Queue<A, E | Cause.Done>>
  readonly upstream: Stream.Stream<A, E>
  readonly hooks: Hooks<A, E>
  exit: Exit.Exit<void, E> | undefined
  subscribers: number
  fiber: Fiber.Fiber<void> | undefined
}

/** @internal */
export interface Flights<A, E> {
  readonly get: (key: string) => Flight<A, E> | undefined
  /** Registers a flight; call only after `get(key)` returned `undefined` in the same synchronous step. */
  readonly create: (key: string, meta: string, upstream: Stream.Stream<A, E>, hooks: Hooks<A, E>) => Flight<A, E>
  readonly subscribe: (flight: Flight<A, E>) => Stream.Stream<A, E>
  readonly size: () => number
}

const settle = <A, E>(queue: Queue.Queue<A, E | Cause.Done>, exit: Exit.Exit<void, E>): void => {
  if (Exit.isSuccess(exit)) Queue.endUnsafe(queue)
  else Queue.failCauseUnsafe(queue, exit.cause)
}

/** @internal */
export const make = <A, E>(scope: Scope.Scope): Flights<A, E> => {
  const flights = new Map<string, Flight<A, E>>()

  const forget = (flight: Flight<A, E>): void => {
    if (flights.get(flight.key) === flight) flights.delete(flight.key)
  }

  const emit = (flight: Flight<A, E>, items: ReadonlyArray<A>): void => {
    for (const item of items) flight.buffer.push(item)
    for (const queue of flight.listeners) Queue.offerAllUnsafe(queue, items)
  }

  // Settling a queue can resume its subscriber synchronously (and with it, new calls), so the flight's state is
  // final before any listener is settled: the hook has run (the answer is stored, or the idempotency key released)
  // and the flight is forgotten. Until then, newcomers join the flight and are settled with everyone else. So when
  // a caller sees its result, a duplicate made right after finds it in the store.
  const finish = (flight: Flight<A, E>, exit: Exit.Exit<void, E>): Effect.Effect<void> =>
    Effect.suspend(() => {
      flight.exit = exit
      if (Exit.isFailure(exit)) forget(flight)
      const hook = Exit.isSuccess(exit) ? flight.hooks.onSuccess(flight.buffer) : flight.hooks.onFailure(exit.cause)
      return hook.pipe(
        Effect.ensuring(
          Effect.sync(() => {
            forget(flight)
            const listeners = Array.from(flight.listeners)
            flight.listeners.clear()
            for (const queue of listeners) settle(queue, exit)
          })
        )
      )
    })

  const pump = (flight: Flight<A, E>): Effect.Effect<void> =>
    flight.upstream.pipe(
      Stream.runForEachArray((items) => Effect.sync(() => emit(flight, items))),
      Effect.onExit((exit) => finish(flight, exit)),
      Effect.ignore
    )

  const subscribe = (flight: Flight<A, E>): Stream.Stream<A, E> =>
    Stream.callback<A, E>((queue) =>
      Effect.suspend(() => {
        flight.subscribers++
        Queue.offerAllUnsafe(queue, flight.buffer)
        if (flight.exit !== undefined) settle(queue, flight.exit)
        else flight.listeners.add(queue)
        const release = Effect.suspend(() => {
          flight.listeners.delete(queue)
          flight.subscribers--
          if (flight.subscribers > 0 || flight.exit !== undefined || flight.fiber === undefined) return Effect.void
          // Nobody is listening any more: cancel the upstream call; a newcomer starts a fresh flight.
          forget(flight)
          return Fiber.interrupt(flight.fiber)
        })
        const launch =
          flight.fiber === undefined && flight.exit === undefined
            ? Effect.map(Effect.forkIn(pump(flight), scope), (fiber) => {
                flight.fiber = fiber
              })
            : Effect.void
        return Effect.andThen(
          Effect.addFinalizer(() => release),
          launch
        )
      })
    )

  return {
    get: (key) => flights.get(key),
    create: (key, meta, upstream, hooks) => {
      const flight: Flight<A, E> = {
        key,
        meta,
        buffer: [],
        listeners: new Set(),
        upstream,
        hooks,
        exit: undefined,
        subscribers: 0,
        fiber: undefined
      }
      flights.set(key, flight)
      return flight
    },
    subscribe,
    size: () => flights.size
  }
}
