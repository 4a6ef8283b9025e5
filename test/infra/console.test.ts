import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { BatonStack } from '../../infra/baton-stack.js';
import { synth } from './support/stack.js';

const s = synth({ baton: { console: { domainPrefix: 'baton-console-test' } } });
const c = s.stack.baton.console!;
const ref = (construct: object) => ({ Ref: s.id(construct) });

describe('console in AWS', () => {
  it('is not part of a Baton built without it', () => {
    const plain = synth();
    plain.template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    plain.template.resourceCountIs('AWS::Cognito::UserPool', 0);
    plain.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
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
    s.template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'baton-console-test' });
    s.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: Match.arrayWith(['openid']),
      CallbackURLs: Match.arrayWith([{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [s.id(c.distribution), 'DomainName'] }, '/']] }]),
    });
  });

  it("calls a second API on the same api function, authorized by the pool's JWTs and open to the console's origin", () => {
    s.template.resourceCountIs('AWS::ApiGatewayV2::Api', 2);
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      ApiId: ref(c.api.api),
      JwtConfiguration: { Audience: [ref(c.client)], Issuer: Match.anyValue() },
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      Name: Match.anyValue(),
      CorsConfiguration: Match.objectLike({
        AllowOrigins: [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [s.id(c.distribution), 'DomainName'] }]] }],
        AllowHeaders: Match.arrayWith(['authorization']),
      }),
    });
    // Its catch-all route goes to the same api function as Baton's IAM-authorized API.
    const integrations = Object.values(s.json.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(2);
    for (const i of integrations) expect(JSON.stringify(i.Properties.IntegrationUri)).toContain(s.fnId('api'));
    // The stack publishes where to open it.
    expect(Object.keys(s.json.Outputs)).toContain('ConsoleUrl');
  });

  it('passes cdk-nag AwsSolutions with every finding fixed or acknowledged with a reason', () => {
    const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
    new BatonStack(app, 'Baton', { alarmEmail: 'ops@example.com', baton: { console: true } });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});
