/** Anything with a dispose method: vscode.Disposable and our own classes alike. */
export interface Disposer {
  dispose(): unknown
}

/**
 * Base class that owns what it creates: `track` everything at creation time so that
 * one `dispose()` releases it all, in reverse order (children before their parents).
 */
export class Disposable implements Disposer {
  private readonly owned: Disposer[] = []
  private disposed = false

  protected track<T extends Disposer>(item: T): T {
    if (this.disposed) {
      item.dispose()
    } else {
      this.owned.push(item)
    }
    return item
  }

  public get isDisposed(): boolean {
    return this.disposed
  }

  public dispose(): void {
    if (this.disposed) {
      return
    }
    this.disposed = true
    for (const item of this.owned.splice(0).reverse()) {
      item.dispose()
    }
  }
}
