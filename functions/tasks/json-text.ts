/**
 * A response body as a task's output: its JSON value, the text itself when it is not JSON, and `null`
 * for an empty body. Shared by the task types that read a body (`lambda`; `http` can adopt it).
 */
export function jsonOrText(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
