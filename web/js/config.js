// The client's only configuration is the outputs file of a deployment: `cdk deploy --outputs-file`
// writes {"<Stack>": {"HttpApiUrl": ..., "WebSocketUrl": ...}}, and the local runtime serves a file
// of the same shape. `?outputs=<url>` points the client at another one.

export async function loadConfig() {
  const url = new URLSearchParams(location.search).get('outputs') || 'outputs.json';
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`Cannot read ${url} (HTTP ${response.status})`);
  const outputs = await response.json();
  const find = (key) => {
    for (const values of Object.values(outputs)) if (values && key in values) return values[key];
    throw new Error(`${url} has no ${key}`);
  };
  return { httpApiUrl: find('HttpApiUrl').replace(/\/+$/, ''), webSocketUrl: find('WebSocketUrl') };
}
