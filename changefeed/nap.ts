/**
 * A sleep that `wake()` cuts short: the relay's retry and reconnect loops back off for up to 30 s,
 * and a stop, or a lost channel, must not wait for that.
 */
export class Nap {
  private wakeUp: (() => void) | null = null;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Ends the current sleep now (no-op when none). */
  wake(): void {
    this.wakeUp?.();
    this.wakeUp = null;
  }
}
