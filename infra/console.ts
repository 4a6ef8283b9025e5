import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { CorsHttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE_PACKAGES } from '../functions/local/console.js';
import { BatonHttpApi } from './http-api.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** A package's directory in the project's node_modules (the same files `npm start` serves). */
const packageDir = (name: string) => join(root, 'node_modules', name);

export interface BatonConsoleProps {
  /** The api function, the same one behind Baton's IAM-authorized API. */
  readonly handler: IFunction;
  readonly logRetention: logs.RetentionDays;
  /** Hosted sign-in domain prefix (`<prefix>.auth.<region>.amazoncognito.com`), unique in the region. @default `baton-<account>` */
  readonly domainPrefix?: string;
  /** @default 50 */
  readonly rateLimit?: number;
}

/**
 * The web console in AWS: its files (web/ and the npm packages it imports, unbundled, as locally) in a
 * private S3 bucket behind CloudFront; a Cognito user pool whose users sign in on the hosted UI
 * (authorization code + PKCE); and a second HTTP API on the same api function, authorized by the pool's
 * JWTs and open to the console's origin (CORS). Baton's own API keeps its IAM authorization.
 * `config.json` tells the console where the API and the sign-in are.
 */
export class BatonConsole extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly api: BatonHttpApi;

  constructor(scope: Construct, id: string, props: BatonConsoleProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Files', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      // Kept on stack deletion, like the table: CloudFormation cannot delete a bucket with objects in it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.distribution = new cloudfront.Distribution(this, 'Cdn', {
      comment: 'Baton console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
    });
    const origin = `https://${this.distribution.distributionDomainName}`;

    this.userPool = new cognito.UserPool(this, 'Users', {
      // An administrator invites each user (AdminCreateUser); nobody signs up alone.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const domain = this.userPool.addDomain('SignIn', {
      cognitoDomain: { domainPrefix: props.domainPrefix ?? `baton-${Stack.of(this).account}` },
    });
    this.client = this.userPool.addClient('Console', {
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
        callbackUrls: [`${origin}/`, `${origin}/index.html`],
        logoutUrls: [`${origin}/`, `${origin}/index.html`],
      },
      idTokenValidity: Duration.hours(1),
      preventUserExistenceErrors: true,
    });

    this.api = new BatonHttpApi(this, 'Api', {
      handler: props.handler,
      auth: { type: 'jwt', issuer: this.userPool.userPoolProviderUrl, audience: [this.client.userPoolClientId] },
      // Tasks report to Baton's own API (BATON_API_URL); this one has no route without an authorizer.
      callbackRoute: false,
      cors: {
        allowOrigins: [origin],
        allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
        allowMethods: [CorsHttpMethod.ANY],
        maxAge: Duration.hours(1),
      },
      rateLimit: props.rateLimit ?? 50,
      burstLimit: 2 * (props.rateLimit ?? 50),
      logRetention: props.logRetention,
    });

    const config = {
      apiUrl: this.api.url,
      auth: { domain: domain.baseUrl(), clientId: this.client.userPoolClientId },
    };
    const web = new s3deploy.BucketDeployment(this, 'DeployWeb', {
      destinationBucket: this.bucket,
      sources: [s3deploy.Source.asset(join(root, 'web')), s3deploy.Source.jsonData('config.json', config)],
      prune: false,
      distribution: this.distribution,
    });
    for (const name of CONSOLE_PACKAGES) {
      new s3deploy.BucketDeployment(this, `Deploy-${name.replace(/[^A-Za-z0-9]/g, '')}`, {
        destinationBucket: this.bucket,
        destinationKeyPrefix: `vendor/${name}/`,
        sources: [s3deploy.Source.asset(packageDir(name))],
        prune: false,
      }).node.addDependency(web);
    }
    acknowledge(this);
  }

  /** Where a person opens the console. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}/`;
  }
}

/** cdk-nag findings that do not apply to a static console, each with its reason. */
function acknowledge(c: BatonConsole) {
  const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
  ack(c.bucket, 'AwsSolutions-S1', 'The bucket holds only the public console files, deployed by CDK; CloudFront is the only reader.');
  ack(c.distribution, 'AwsSolutions-CFR1', 'The console is for the operators of this account wherever they are; sign-in protects it.');
  ack(
    c.distribution,
    'AwsSolutions-CFR2',
    'Static files only; every API call is authorized by API Gateway. A WAF would add a monthly cost to every install.',
  );
  ack(c.distribution, 'AwsSolutions-CFR3', 'Static files only; API calls are access-logged by the API stage.');
  ack(
    c.distribution,
    'AwsSolutions-CFR4',
    'The default CloudFront domain and certificate; set a custom domain and certificate to choose the TLS policy.',
  );
  ack(
    c.userPool,
    'AwsSolutions-COG2',
    'MFA is optional (TOTP) so that the console works with the defaults; require it in the pool for production.',
  );
  ack(c.userPool, 'AwsSolutions-COG8', 'The Plus feature plan is a paid Cognito plan; choose it per install.');
  ack(c.userPool, 'AwsSolutions-COG3', 'Advanced security (threat protection) is a paid Cognito feature plan; enable it per install.');
  // BucketDeployment's function is a singleton CDK creates at the stack's root.
  for (const fn of Stack.of(c).node.children.filter((x) => x.node.id.startsWith('Custom::CDKBucketDeployment'))) {
    ack(
      fn,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'The CDK bucket-deployment function uses AWSLambdaBasicExecutionRole for its logs.',
    );
    const bucketArn = Stack.of(c).resolve(c.bucket.bucketArn) as { 'Fn::GetAtt': [string, string] };
    const wildcards = [
      'Action::s3:GetObject*',
      'Action::s3:GetBucket*',
      'Action::s3:List*',
      'Action::s3:DeleteObject*',
      'Action::s3:Abort*',
      'Resource::*',
      `Resource::<${bucketArn['Fn::GetAtt'][0]}.Arn>/*`,
      // The CDK asset bucket of the default bootstrap qualifier.
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
    ];
    for (const w of wildcards)
      ack(
        fn,
        `AwsSolutions-IAM5[${w}]`,
        'The CDK bucket-deployment function reads its asset objects and replaces every key of the console bucket.',
      );
    ack(fn, 'AwsSolutions-L1', 'The runtime of the CDK bucket-deployment function is chosen by aws-cdk-lib.');
  }
}
