/**
 * A background loop that runs `tick`, then sleeps `intervalMs`, until stopped. `wake()` cuts the
 * sleep short; a wake that arrives while a tick runs makes the loop go again right after it, so
 * a signal sent between a tick's query and its end is never lost. `stop()` lets the tick in
 * progress finish, so whatever it holds (a transaction, row locks) is released cleanly.
 */
export class PollLoop {
	private readonly tick: () => Promise<boolean>;
	private readonly intervalMs: number;
	private readonly onError: (error: unknown) => void;
	private running = false;
	private loop: Promise<void> | undefined;
	private wakeSleep: (() => void) | undefined;
	private woken = false;

	/** `tick` resolves true when it wants to run again at once (e.g. it filled a whole batch). */
	constructor(tick: () => Promise<boolean>, intervalMs: number, onError: (error: unknown) => void) {
		this.tick = tick;
		this.intervalMs = intervalMs;
		this.onError = onError;
	}

	get isRunning(): boolean {
		return this.running;
	}

	start(): void {
		if (this.loop) return;
		this.running = true;
		this.loop = this.run();
	}

	wake(): void {
		this.woken = true;
		this.wakeSleep?.();
	}

	async stop(): Promise<void> {
		this.running = false;
		this.wakeSleep?.();
		await this.loop;
		this.loop = undefined;
	}

	private async run(): Promise<void> {
		while (this.running) {
			this.woken = false;
			let again = false;
			try {
				again = await this.tick();
			} catch (error) {
				this.onError(error);
			}
			if (!this.running) break;
			if (again || this.woken) continue;
			await this.sleep();
		}
	}

	private sleep(): Promise<void> {
		return new Promise<void>((resolve) => {
			const timer = setTimeout(done, this.intervalMs);
			this.wakeSleep = done;
			function done(): void {
				clearTimeout(timer);
				resolve();
			}
		}).finally(() => {
			this.wakeSleep = undefined;
		});
	}
}
