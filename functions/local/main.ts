import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { createApp } from '../api/app.js';
import { loadConfig } from '../common/config.js';
import { log } from '../common/logger.js';
import { dynamoClient } from '../store/client.js';
import { ensureTable } from '../store/table.js';
import { consoleAndApi } from './console.js';
import { type LocalDynamo, startDynamoLocal } from './dynamodb-local.js';
import { envFlag, LocalRuntime } from './runtime.js';

/**
 * `npm start`: DynamoDB Local (unless AWS_ENDPOINT_URL_DYNAMODB points elsewhere), the table, every
 * function in-process, and the API on PORT (default 3000).
 */
async function main() {
  // Node 20 is supported by the SDK versions locked here; its notice about future versions is noise locally.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { values } = parseArgs({
    options: {
      'in-memory': { type: 'boolean', default: process.env.BATON_IN_MEMORY === 'true' },
      'data-dir': { type: 'string', default: process.env.BATON_DATA_DIR ?? '.baton/data' },
      port: { type: 'string', default: process.env.PORT ?? '3000' },
    },
  });
  let dynamo: LocalDynamo | undefined;
  if (!process.env.AWS_ENDPOINT_URL_DYNAMODB) {
    dynamo = await startDynamoLocal({
      port: Number(process.env.BATON_DYNAMODB_PORT ?? 8000),
      dataDir: values['in-memory'] ? undefined : values['data-dir'],
    });
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
    log.info({ endpoint: dynamo.endpoint, data: values['in-memory'] ? 'in memory' : values['data-dir'] }, 'DynamoDB Local started');
  }
  const config = loadConfig();
  const client = dynamoClient();
  await ensureTable(client, config.table);
  // Async lambda tasks get a ready callback URL pointing at this server.
  process.env.BATON_API_URL ??= `http://${process.env.HOST ?? '127.0.0.1'}:${values.port}`;
  // Several `npm start`s over one endpoint and table share its work (BATON_SHARE_WORK=false to race instead).
  const runtime = new LocalRuntime({ config, client, share: envFlag(process.env.BATON_SHARE_WORK, true) }).start();
  await runtime.ready();
  const app = consoleAndApi(createApp(runtime.deps));
  const port = Number(values.port);
  const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? '127.0.0.1' }, (info) =>
    log.info(
      { url: `http://${info.address}:${info.port}`, console: `http://${info.address}:${info.port}/console/`, table: config.table },
      'Baton is running',
    ),
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close();
    await runtime.stop();
    await dynamo?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  log.fatal({ err }, 'Baton failed to start');
  process.exit(1);
});
