import type { ComputeDriver, DriverAction } from "../src/index";

interface Hold {
	/** The call has arrived and waits. */
	entered: Promise<void>;
	release(): void;
	/** The released call has reached the real driver and returned or thrown. */
	done: Promise<void>;
}

/**
 * A driver that passes every call to a real one, except that a test can hold the next call of an
 * action at the door: the call has been made (the saga is waiting on it) but its effect happens
 * only when the test releases it. That is a data-plane call in flight, e.g. a worker that lost its
 * lock, or a slow host, and lets a test run another delivery of the same operation meanwhile.
 */
export class HeldDriver implements ComputeDriver {
	readonly name = "held";
	private readonly holds = new Map<DriverAction, { enter: () => void; released: Promise<void>; finish: () => void }>();

	constructor(private readonly inner: ComputeDriver) {}

	/** Holds the next call of `action`; `entered` resolves when it arrives. */
	holdNext(action: DriverAction): Hold {
		let enter = () => {};
		let release = () => {};
		const entered = new Promise<void>((resolve) => {
			enter = resolve;
		});
		const released = new Promise<void>((resolve) => {
			release = resolve;
		});
		let finish = () => {};
		const done = new Promise<void>((resolve) => {
			finish = resolve;
		});
		this.holds.set(action, { enter, released, finish });
		return { entered, release, done };
	}

	/** Runs `call`, first waiting at the door if the test holds this action. */
	private async door(action: DriverAction, call: () => Promise<void>): Promise<void> {
		const hold = this.holds.get(action);
		if (!hold) return call();
		this.holds.delete(action);
		hold.enter();
		await hold.released;
		try {
			await call();
		} finally {
			hold.finish();
		}
	}

	createInstance(...args: Parameters<ComputeDriver["createInstance"]>): Promise<void> {
		return this.door("createInstance", () => this.inner.createInstance(...args));
	}

	deleteInstance(...args: Parameters<ComputeDriver["deleteInstance"]>): Promise<void> {
		return this.door("deleteInstance", () => this.inner.deleteInstance(...args));
	}

	startInstance(...args: Parameters<ComputeDriver["startInstance"]>): Promise<void> {
		return this.door("startInstance", () => this.inner.startInstance(...args));
	}

	stopInstance(...args: Parameters<ComputeDriver["stopInstance"]>): Promise<void> {
		return this.door("stopInstance", () => this.inner.stopInstance(...args));
	}

	rebootInstance(...args: Parameters<ComputeDriver["rebootInstance"]>): Promise<void> {
		return this.door("rebootInstance", () => this.inner.rebootInstance(...args));
	}
}
