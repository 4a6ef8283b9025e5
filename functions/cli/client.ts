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

/**
 * The API base URL as given to `--api`, made usable: a missing scheme means `http://`
 * (`127.0.0.1:3000`), and its path is kept (`https://host/prod` is an API under a stage path).
 * Throws an ApiError (status 0) saying what is wrong with anything else.
 */
export function apiBase(given: string): URL {
  const text = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(given) ? given : `http://${given}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ApiError(
      0,
      'bad_api_url',
      `--api ${JSON.stringify(given)} is not a URL (expected e.g. http://127.0.0.1:3000 or https://host/prod)`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ApiError(0, 'bad_api_url', `--api ${JSON.stringify(given)}: expected an http:// or https:// URL`);
  if (url.search || url.hash) throw new ApiError(0, 'bad_api_url', `--api ${JSON.stringify(given)}: no query or fragment, please`);
  return url;
}

export class BatonClient {
  readonly base: string;
  private readonly url: URL;
  constructor(
    base: string,
    private readonly token?: string,
  ) {
    this.base = base;
    this.url = apiBase(base);
  }

  /** `path` (starting with `/`, query included) under the base URL's own path. */
  urlOf(path: string): URL {
    return new URL(`${this.url.origin}${this.url.pathname.replace(/\/+$/, '')}${path}`);
  }

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
      res = await fetch(this.urlOf(path), { method, headers: h, body: payload });
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
