import { dynamoClient, documentClient } from '/work/main/functions/store/client.ts';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
const doc = documentClient(dynamoClient());
const ts: number[] = [];
for (let i = 0; i < 40; i++) { const t = performance.now(); await doc.send(new UpdateCommand({ TableName: 'dev1', Key: { pk: 'x', sk: String(i%5) }, UpdateExpression: 'SET a = :a', ExpressionAttributeValues: { ':a': i } })); ts.push(performance.now() - t); }
ts.sort((a,b)=>a-b); console.log('update ms p50', ts[20].toFixed(1), 'p90', ts[36].toFixed(1), 'max', ts[39].toFixed(1));
