import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synth } from './support/stack.js';

// The stack's default settings: the console is part of every Baton unless `console: false`.
const s = synth();
const c = s.stack.baton.console!;
const ref = (construct: object) => ({ Ref: s.id(construct) });

describe('console in AWS', () => {
  it('is deployed by default, and left out with console: false', () => {
    s.template.resourceCountIs('AWS::CloudFront::Distribution', 1);
    s.template.resourceCountIs('AWS::Cognito::UserPool', 1);
    const plain = synth({ baton: { console: false } });
    expect(plain.stack.baton.console).toBeUndefined();
    plain.template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    plain.template.resourceCountIs('AWS::Cognito::UserPool', 0);
    plain.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    expect(Object.keys(plain.json.Outputs)).not.toContain('ConsoleUrl');
  });

  it('takes its sign-in domain prefix from the props, else baton-<account>', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
      Domain: { 'Fn::Join': ['', ['baton-', { Ref: 'AWS::AccountId' }]] },
    });
    synth({ baton: { console: { domainPrefix: 'baton-console-test' } } }).template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
      Domain: 'baton-console-test',
    });
  });

  it('serves the files from a private bucket through CloudFront with origin access control', () => {
    s.template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    s.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
      }),
    });
    s.template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    // web/ and one deployment per npm package the console imports, into vendor/<package>/.
    const deployments = Object.values(s.json.Resources as Record<string, any>).filter((r) => r.Type === 'Custom::CDKBucketDeployment');
    expect(deployments.map((d) => d.Properties.DestinationBucketKeyPrefix ?? '').sort()).toEqual(
      ['', 'vendor/@dagrejs/dagre/', 'vendor/htm/', 'vendor/preact/', 'vendor/yaml/'].sort(),
    );
    for (const d of deployments) expect(d.Properties.DestinationBucketName).toEqual(ref(c.bucket));
  });

  it('signs people in with a Cognito pool (invited users only) and the code flow with PKCE (no client secret)', () => {
    s.template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    s.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: Match.arrayWith(['openid']),
      CallbackURLs: Match.arrayWith([{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [s.id(c.distribution), 'DomainName'] }, '/']] }]),
    });
  });

  it("calls a second API on the same api function, authorized by the pool's JWTs and open to the console's origin", () => {
    s.template.resourceCountIs('AWS::ApiGatewayV2::Api', 2);
    // Baton's own API is untouched: IAM on its routes, no CORS. The console's is a different resource.
    const consoleApiId = s.id(c.api.api);
    expect(consoleApiId).not.toBe(s.apiId);
    expect(s.json.Resources[s.apiId].Properties.CorsConfiguration).toBeUndefined();
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      ApiId: { Ref: s.apiId },
      RouteKey: 'ANY /{proxy+}',
      AuthorizationType: 'AWS_IAM',
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      ApiId: ref(c.api.api),
      RouteKey: 'ANY /{proxy+}',
      AuthorizationType: 'JWT',
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      ApiId: ref(c.api.api),
      JwtConfiguration: { Audience: [ref(c.client)], Issuer: Match.anyValue() },
    });
    expect(s.json.Resources[consoleApiId].Properties).toMatchObject({
      CorsConfiguration: expect.objectContaining({
        AllowOrigins: [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [s.id(c.distribution), 'DomainName'] }]] }],
        AllowHeaders: expect.arrayContaining(['authorization']),
      }),
    });
    // Its catch-all route goes to the same api function as Baton's IAM-authorized API.
    const integrations = Object.values(s.json.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(2);
    for (const i of integrations) expect(JSON.stringify(i.Properties.IntegrationUri)).toContain(s.fnId('api'));
    // The stack publishes where to open it.
    expect(Object.keys(s.json.Outputs)).toContain('ConsoleUrl');
    s.template.hasOutput('ConsoleUserPoolId', { Value: ref(c.userPool) });
  });
  // cdk-nag: test/infra/nag.test.ts checks the default stack, console included.
});
