import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CorsPreflightOptions,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Who may call the API. */
export type BatonAuth =
  /** AWS SigV4: callers need `execute-api:Invoke` on the API (an IAM policy in their account). */
  | { readonly type: 'iam' }
  /** A JWT from an OIDC issuer (Cognito, Auth0, Okta...), checked by API Gateway. */
  | {
      readonly type: 'jwt';
      /** Issuer URL, e.g. `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc`. */
      readonly issuer: string;
      /** Accepted `aud` (or Cognito `client_id`) values. */
      readonly audience: readonly string[];
      /** Scopes every route requires. @default - none */
      readonly scopes?: readonly string[];
    };

export interface BatonHttpApiProps {
  readonly handler: IFunction;
  readonly auth: BatonAuth;
  /** @default - no CORS: browsers on other origins cannot call the API */
  readonly cors?: CorsPreflightOptions;
  /** Serve `POST /callbacks/{token}` without an authorizer (the console's API does not: tasks report to Baton's). @default true */
  readonly callbackRoute?: boolean;
  /** Steady-state requests per second for the whole API. */
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: logs.RetentionDays;
}

/** One access log line per request: who, what, how it ended. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTimeEpoch',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  subject: '$context.authorizer.claims.sub',
  method: '$context.httpMethod',
  path: '$context.path',
  route: '$context.routeKey',
  status: '$context.status',
  bytes: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

/**
 * The one route without an authorizer: an asynchronous `lambda` task's function reports its end here
 * (`functions/api/callbacks.ts`). The token in the path is the credential: 192 random bits, stored
 * only as a hash, valid for one waiting attempt. A function in any account, with any role or none,
 * can report. Other methods and deeper paths fall through to the authorized catch-all route.
 */
export const CALLBACK_ROUTE = { method: HttpMethod.POST, path: '/callbacks/{token}' } as const;

/**
 * The HTTP API in front of the api function: a catch-all route (the Hono app does the routing),
 * authorized (IAM or JWT) on every path but the callback route, throttled at the stage,
 * access-logged to its own log group.
 */
export class BatonHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BatonHttpApiProps) {
    super(scope, id);
    const auth = props.auth;
    const authorizer: IHttpRouteAuthorizer =
      auth.type === 'jwt' ? new HttpJwtAuthorizer('Jwt', auth.issuer, { jwtAudience: [...auth.audience] }) : new HttpIamAuthorizer();
    this.api = new HttpApi(this, 'Api', {
      description: 'Baton workflow scheduler',
      createDefaultStage: false,
      corsPreflight: props.cors,
      defaultAuthorizer: authorizer,
      defaultAuthorizationScopes: auth.type === 'jwt' && auth.scopes ? [...auth.scopes] : undefined,
    });
    const integration = new HttpLambdaIntegration('Handler', props.handler);
    this.api.addRoutes({ path: '/{proxy+}', methods: [HttpMethod.ANY], integration });
    if (props.callbackRoute !== false) {
      // API Gateway picks the most specific route, so this one wins over `/{proxy+}` for its path.
      const [callbacks] = this.api.addRoutes({
        path: CALLBACK_ROUTE.path,
        methods: [CALLBACK_ROUTE.method],
        integration,
        authorizer: new HttpNoneAuthorizer(),
        // The JWT default scopes cannot apply to a route without an authorizer.
        authorizationScopes: [],
      });
      Validations.of(callbacks!).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'POST /callbacks/{token} is called by the functions of asynchronous lambda tasks, which hold no API credentials; the 192-bit single-use token in the path is the credential (only its hash is stored). Every other route requires IAM or JWT authorization.',
      });
    }
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
  }

  /** The API's base URL, ending in `/`. */
  get url(): string {
    return this.stage.url;
  }
}
