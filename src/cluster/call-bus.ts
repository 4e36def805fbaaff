// What the cross-node call client and server need from a message bus: publish, subscribe, the
// payload limit. The cluster connection implements it on core NATS; unit tests implement it in
// memory. Kept apart so the call protocol can be tested without a server.

export interface BusMessage {
  subject: string;
  data: Uint8Array;
  /** Where answers to this message go, if the sender expects any. */
  reply?: string;
  /** The server's "no responders" status for a message published with a reply subject. */
  noResponders: boolean;
}

export interface BusSubscription {
  /** Stops delivery after messages already received are handled. */
  drain(): Promise<void>;
}

export interface CallBus {
  /** The largest message the server accepts (NATS max_payload). */
  readonly maxPayload: number;
  publish(subject: string, data: Uint8Array, reply?: string): void;
  /** `subject` may end in `.>` (every subject below). Resolves once the server knows it. */
  subscribe(subject: string, handler: (message: BusMessage) => void): Promise<BusSubscription>;
  /** A fresh, unique subject prefix for this connection's replies. */
  inbox(): string;
}
