/** A small client for the Baton HTTP API, used by the CLI. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path?: string; message?: string }[] = [],
  ) {
    super(message);
  }

  /** One readable line: status, code, message, and each detail with its path. */
  oneLine(): string {
    const d = this.details.map((x) => (x.path ? `${x.path}: ${x.message}` : (x.message ?? JSON.stringify(x)))).join('; ');
    return `${this.status ? `${this.status} ` : ''}${this.code}: ${this.message}${d ? ` (${d})` : ''}`;
  }
}

export class BatonClient {
  constructor(
    readonly base: string,
    private readonly token?: string,
  ) {}

  async call<T = any>(method: string, path: string, body?: string | object, headers: Record<string, string> = {}): Promise<T> {
    const h: Record<string, string> = { ...headers };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(new URL(path, this.base), { method, headers: h, body: payload });
    } catch (err) {
      throw new ApiError(
        0,
        'unreachable',
        `cannot reach ${this.base}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`,
      );
    }
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(res.status, 'bad_response', `the server answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = json?.error ?? {};
      throw new ApiError(res.status, e.code ?? 'error', e.message ?? res.statusText, e.details ?? []);
    }
    return json as T;
  }
}
