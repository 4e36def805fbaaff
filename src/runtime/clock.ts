// Time for the control plane, injected so unit tests drive the controller with a fake clock.

export interface Clock {
  /** Milliseconds, monotonic enough for delays and windows. */
  now(): number;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
};
