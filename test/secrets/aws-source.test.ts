import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { awsSecretSource } from '../../functions/tasks/secrets/aws-source.js';
import { secretSourceFromEnv } from '../../functions/tasks/secrets/from-env.js';

// Secrets Manager and SSM have no local stand-in here: these check the requests the source sends.
const creds = { region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } };

describe('secrets from AWS through Powertools', () => {
  it('Secrets Manager: reads <prefix>NAME, caches it, and maps not-found to undefined', async () => {
    const client = new SecretsManagerClient(creds);
    const mock = mockClient(client);
    mock.on(GetSecretValueCommand, { SecretId: 'baton/API_KEY' }).resolves({ SecretString: 'v1' });
    mock.on(GetSecretValueCommand, { SecretId: 'baton/NOPE' }).rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }));
    const src = awsSecretSource({
      service: 'secretsmanager',
      prefix: 'baton/',
      maxAgeSeconds: 60,
      provider: new SecretsProvider({ awsSdkV3Client: client }),
    });
    expect(await src.get('API_KEY')).toBe('v1');
    expect(await src.get('API_KEY')).toBe('v1');
    expect(await src.get('NOPE')).toBeUndefined();
    expect(mock.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual(['baton/API_KEY', 'baton/NOPE']);
    expect(src.describe('NOPE')).toBe('Secrets Manager secret baton/NOPE');
  });

  it('SSM: decrypts, and other errors (throttling, access) are thrown, not taken for a missing secret', async () => {
    const client = new SSMClient(creds);
    const mock = mockClient(client);
    mock.on(GetParameterCommand, { Name: '/baton/API_KEY' }).resolves({ Parameter: { Value: 'v2' } });
    mock.on(GetParameterCommand, { Name: '/baton/NOPE' }).rejects(new ParameterNotFound({ message: 'no', $metadata: {} }));
    mock
      .on(GetParameterCommand, { Name: '/baton/DENIED' })
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const src = awsSecretSource({
      service: 'ssm',
      prefix: '/baton/',
      maxAgeSeconds: 0,
      provider: new SSMProvider({ awsSdkV3Client: client }),
    });
    expect(await src.get('API_KEY')).toBe('v2');
    expect(mock.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({ Name: '/baton/API_KEY', WithDecryption: true });
    expect(await src.get('NOPE')).toBeUndefined();
    await expect(src.get('DENIED')).rejects.toThrow('not authorized');
  });

  it('the source follows BATON_SECRETS, defaulting to local outside Lambda and Secrets Manager inside', () => {
    expect(secretSourceFromEnv({}).describe('A')).toContain('BATON_SECRET_A');
    expect(secretSourceFromEnv({ AWS_LAMBDA_FUNCTION_NAME: 'w', AWS_REGION: 'eu-west-1' }).describe('A')).toBe(
      'Secrets Manager secret baton/A',
    );
    expect(secretSourceFromEnv({ BATON_SECRETS: 'ssm', AWS_REGION: 'eu-west-1' }).describe('A')).toBe('SSM parameter /baton/A');
    expect(() => secretSourceFromEnv({ BATON_SECRETS: 'vault' })).toThrow(/BATON_SECRETS/);
  });
});
