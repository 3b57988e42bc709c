/**
 * The admission controller: global and per-session permits with FIFO queues, as plain synchronous bookkeeping.
 *
 * A request (a `Ticket`) first needs a permit of its session (per-session limit), then a global permit. A ticket
 * waits in its session's queue until its session has a free permit, then in the global queue until a global permit
 * is free. Both queues are FIFO, so the turns of one session start in the order they were admitted. Because the
 * session permit is taken first, at most `perSession` tickets of a session ever sit in the global queue, so one busy
 * session cannot crowd the others out of the global queue.
 *
 * Everything here is synchronous and runs on the JavaScript thread between fiber steps: no locks are needed, and
 * every state change is atomic with respect to other fibers.
 *
 * @internal
 */
import { Fifo } from "./fifo.js"

/** Where a ticket stands. */
export const TicketState = {
  /** Not yet admitted. */
  New: 0,
  /** Waiting for a permit of its session. */
  WaitingSession: 1,
  /** Holds its session permit, waiting for a global permit. */
  WaitingGlobal: 2,
  /** Holds both permits. */
  Granted: 3,
  /** Gave its permits back (or never got any). */
  Done: 4
} as const

/** Where a ticket stands. */
export type TicketState = (typeof TicketState)[keyof typeof TicketState]

/** What `admit` decided. */
export const Decision = {
  Granted: 0,
  Queued: 1,
  QueueFull: 2
} as const

/** What `admit` decided. */
export type Decision = (typeof Decision)[keyof typeof Decision]

/** One session: its permits in use, its waiting tickets, and when it was last used (for idle expiry). */
export class Slot {
  active = 0
  pendingLive = 0
  pending: Fifo<Ticket> | undefined = undefined
  requests = 0

  constructor(
    readonly id: string,
    readonly createdAt: number,
    public lastActiveAt: number,
    /** Created for a request that named no session: forgotten as soon as it is idle, not after the TTL. */
    readonly ephemeral: boolean
  ) {}
}

/** One request's admission state. `resume` is set while its fiber waits. */
export class Ticket {
  state: TicketState = TicketState.New
  slot: Slot | undefined = undefined
  resume: (() => void) | undefined = undefined

  constructor(
    readonly requestId: string,
    readonly sessionId: string,
    /** The session id was generated for this request (nobody else can know it yet). */
    readonly ephemeralSession: boolean
  ) {}
}

/** The controller. `limit` global permits, `perSession` permits per session, at most `maxQueued` waiting tickets. */
export class Admission {
  /** Tickets holding a global permit. */
  active = 0
  /** Tickets waiting (in a session queue or in the global queue). */
  queued = 0
  /** Session permits held (by running tickets and by tickets waiting for a global permit). */
  sessionPermits = 0
  private waitingLive = 0
  private readonly waiting = new Fifo<Ticket>()
  /** Tickets granted by `release` and not yet woken (see `wake`). */
  private granted: Array<Ticket> = []
  /**
   * Sessions by id. Activity only updates `lastActiveAt` (re-inserting a hot key into a large Map to keep it in
   * recency order costs a rehash now and then, tens of microseconds per touch); `sweep` scans them all instead.
   */
  readonly sessions = new Map<string, Slot>()

  constructor(
    readonly limit: number,
    readonly perSession: number,
    readonly maxQueued: number
  ) {}

  /** The session's slot, created when missing, marked active at `now`. */
  touch(sessionId: string, now: number, ephemeral: boolean): Slot {
    let slot = this.sessions.get(sessionId)
    if (slot === undefined) {
      slot = new Slot(sessionId, now, now, ephemeral)
      this.sessions.set(sessionId, slot)
    } else {
      slot.lastActiveAt = now
    }
    return slot
  }

  /** Admits a ticket: grants both permits at once, queues it, or refuses it because the queue is full. */
  admit(ticket: Ticket, now: number): Decision {
    const slot = this.touch(ticket.sessionId, now, ticket.ephemeralSession)
    if (slot.active < this.perSession) {
      if (this.active < this.limit && this.waitingLive === 0) {
        slot.active++
        slot.requests++
        this.sessionPermits++
        this.active++
        ticket.slot = slot
        ticket.state = TicketState.Granted
        return Decision.Granted
      }
      if (this.queued >= this.maxQueued) return Decision.QueueFull
      slot.active++
      slot.requests++
      this.sessionPermits++
      ticket.slot = slot
      ticket.state = TicketState.WaitingGlobal
      this.waiting.push(ticket)
      this.waitingLive++
      this.queued++
      return Decision.Queued
    }
    if (this.queued >= this.maxQueued) return Decision.QueueFull
    slot.requests++
    ticket.slot = slot
    ticket.state = TicketState.WaitingSession
    if (slot.pending === undefined) slot.pending = new Fifo<Ticket>()
    slot.pending.push(ticket)
    slot.pendingLive++
    this.queued++
    return Decision.Queued
  }

  /**
   * Gives back whatever the ticket holds: both permits when granted, its session permit when waiting for a global
   * one, its queue place when waiting for its session. Idempotent. The tickets that can now run are granted their
   * permits at once, and handed to the next `wake` call.
   */
  release(ticket: Ticket, now: number): void {
    const slot = ticket.slot
    switch (ticket.state) {
      case TicketState.Granted: {
        this.active--
        this.releaseSession(slot!, now)
        break
      }
      case TicketState.WaitingGlobal: {
        this.waitingLive--
        this.queued--
        this.releaseSession(slot!, now)
        break
      }
      case TicketState.WaitingSession: {
        slot!.pendingLive--
        this.queued--
        break
      }
      default:
        break
    }
    ticket.state = TicketState.Done
    ticket.resume = undefined
    this.dispatch()
  }

  private releaseSession(slot: Slot, now: number): void {
    slot.active--
    this.sessionPermits--
    slot.lastActiveAt = now
    // Promote the session's next waiting turns into the global queue.
    const pending = slot.pending
    while (pending !== undefined && slot.active < this.perSession && slot.pendingLive > 0) {
      const next = pending.shift()
      if (next === undefined) break
      if (next.state !== TicketState.WaitingSession) continue
      slot.pendingLive--
      slot.active++
      this.sessionPermits++
      next.state = TicketState.WaitingGlobal
      this.waiting.push(next)
      this.waitingLive++
    }
    if (pending !== undefined && pending.length === 0) slot.pending = undefined
    if (slot.ephemeral && slot.active === 0 && slot.pendingLive === 0 && this.sessions.get(slot.id) === slot) {
      this.sessions.delete(slot.id)
    }
  }

  /** Grants global permits to waiting tickets, oldest first, while permits are free. */
  private dispatch(): void {
    while (this.active < this.limit && this.waitingLive > 0) {
      const next = this.waiting.shift()
      if (next === undefined) break
      if (next.state !== TicketState.WaitingGlobal) continue
      this.waitingLive--
      this.queued--
      this.active++
      next.state = TicketState.Granted
      this.granted.push(next)
    }
  }

  /**
   * Calls `onGrant` for each ticket granted since the last call (in grant order) and resumes its fiber. Lets the
   * caller finish its own bookkeeping (events of the released ticket) before the next ones start.
   */
  wake(onGrant: (ticket: Ticket) => void): void {
    if (this.granted.length === 0) return
    const granted = this.granted
    this.granted = []
    for (const ticket of granted) {
      if (ticket.state !== TicketState.Granted) continue
      onGrant(ticket)
      const resume = ticket.resume
      ticket.resume = undefined
      if (resume !== undefined) resume()
    }
  }

  /** Removes sessions idle (nothing running or waiting) since `now - ttlMs` or earlier; returns them. O(sessions). */
  sweep(now: number, ttlMs: number): Array<Slot> {
    const expired: Array<Slot> = []
    for (const slot of this.sessions.values()) {
      if (slot.lastActiveAt + ttlMs <= now && slot.active === 0 && slot.pendingLive === 0) {
        this.sessions.delete(slot.id)
        expired.push(slot)
      }
    }
    return expired
  }
}
