// A stand-in for the browser's EventSource, driven by tests.

type Listener = (event: MessageEvent<unknown>) => void

export class FakeEventSource extends EventTarget {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSED = 2
  readonly CONNECTING = 0
  readonly OPEN = 1
  readonly CLOSED = 2

  static instances: FakeEventSource[] = []
  static get last(): FakeEventSource {
    const last = FakeEventSource.instances.at(-1)
    if (!last) throw new Error('no EventSource was created')
    return last
  }
  static reset(): void {
    FakeEventSource.instances = []
  }

  readonly url: string
  readonly withCredentials = false
  readyState = 0
  onopen: ((event: Event) => void) | null = null
  onerror: ((event: Event) => void) | null = null
  onmessage: Listener | null = null
  closed = false

  constructor(url: string | URL) {
    super()
    this.url = String(url)
    FakeEventSource.instances.push(this)
  }

  close(): void {
    this.readyState = 2
    this.closed = true
  }

  // ---- driven by tests

  open(): void {
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }

  /**
   * A message with `event: name`, `id: id`, and `data` as JSON (or a raw string).
   * Dispatched even after close(), so tests can show such a message is ignored.
   */
  emit(name: string, data: unknown, id = ''): void {
    const event = new MessageEvent(name, {
      data: typeof data === 'string' ? data : JSON.stringify(data),
      lastEventId: id,
    })
    this.dispatchEvent(event)
  }

  /** A dropped connection the browser retries by itself (readyState CONNECTING). */
  drop(): void {
    this.readyState = 0
    this.onerror?.(new Event('error'))
  }

  /** A failure the browser gives up on (HTTP 400/503): readyState CLOSED. */
  fail(): void {
    this.readyState = 2
    this.onerror?.(new Event('error'))
  }
}
