/** The OpenAPI 3.1 document of the HTTP ingest endpoint, served at GET /openapi.json. */

const error = { $ref: '#/components/schemas/Error' };
const errorResponse = (description: string): object => ({ description, content: { 'application/json': { schema: error } } });
const retryAfter = { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds to wait before trying again' } };

const ERRORS = {
  '400': errorResponse('bad topic or body (bad-topic, bad-request)'),
  '401': {
    ...errorResponse('no or invalid credentials (unauthorized)'),
    headers: { 'WWW-Authenticate': { schema: { type: 'string' } } },
  },
  '403': errorResponse('the ACL denies publishing to this topic, or the client is not authorized (forbidden)'),
  '404': errorResponse('no mapping rule matches the topic and `unmapped` is `reject` (unmapped)'),
  '408': errorResponse('the body did not arrive within `bodyTimeoutMs` (request-timeout)'),
  '413': errorResponse('the body is over `maxBodyBytes`, or the batch over `maxBatchMessages` (too-large)'),
  '429': { ...errorResponse('too many requests in flight from this address (too-many-requests)'), headers: retryAfter },
  '500': errorResponse('a fault in the proxy (internal-error)'),
  '502': errorResponse('Kafka refused the record for reasons of its own (kafka-refused)'),
  '503': {
    ...errorResponse('Kafka unavailable, the in-flight bound reached, or the server shutting down (kafka-unavailable, overloaded, shutting-down): nothing was written'),
    headers: retryAfter,
  },
};

const topicParameter = {
  name: 'topic',
  in: 'path',
  required: true,
  description: 'the MQTT topic, percent-encoded UTF-8 (`%2F` or `/` between levels); or use POST /publish with the MQTT-Topic header',
  schema: { type: 'string' },
};
const topicHeader = { name: 'MQTT-Topic', in: 'header', required: false, description: 'the MQTT topic, percent-encoded UTF-8, when not in the path', schema: { type: 'string' } };

const publish = {
  summary: 'Publish one message; answered once Kafka has it',
  security: [{ basic: [] }, { bearer: [] }, {}],
  requestBody: { description: 'the payload, unchanged; its Content-Type becomes the mqtt.content_type header', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
  responses: { '200': { description: 'written', content: { 'application/json': { schema: { $ref: '#/components/schemas/Written' } } } }, ...ERRORS },
};

const batch = {
  summary: 'Publish a batch; every message answered on its own',
  security: [{ basic: [] }, { bearer: [] }, {}],
  requestBody: {
    content: {
      'application/x-ndjson': { schema: { $ref: '#/components/schemas/Message' }, description: 'one message object per line' },
      'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Message' } } },
    },
  },
  responses: {
    '200': { description: 'every message written', content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchResults' } } } },
    '207': { description: 'some messages not written: see each result', headers: retryAfter, content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchResults' } } } },
    ...ERRORS,
  },
};

const DOCUMENT = {
  openapi: '3.1.0',
  info: { title: 'mqtt-kafka-proxy HTTP ingest', version: '1', description: 'Messages go through the same mapping rules, ACLs and Kafka acknowledgement as MQTT QoS 1 PUBLISHes.' },
  paths: {
    '/publish/{topic}': { post: { ...publish, parameters: [topicParameter] } },
    '/publish': { post: { ...publish, parameters: [{ ...topicHeader, required: true }] } },
    '/batch': { post: { ...batch, parameters: [{ ...topicHeader, description: 'default topic of messages that name none' }] } },
    '/batch/{topic}': { post: { ...batch, parameters: [{ ...topicParameter, description: 'default topic of messages that name none' }] } },
  },
  components: {
    securitySchemes: { basic: { type: 'http', scheme: 'basic' }, bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    schemas: {
      Written: {
        type: 'object',
        properties: { status: { const: 200 }, topic: { type: 'string', description: 'Kafka topic' }, partition: { type: 'integer' }, offset: { type: 'integer' } },
      },
      Error: { type: 'object', required: ['status', 'error', 'message'], properties: { status: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } } },
      Message: {
        type: 'object',
        properties: {
          topic: { type: 'string', description: 'MQTT topic (not percent-encoded); default the request topic' },
          payload: { description: 'a string (UTF-8, or base64 with encoding), or any JSON value written as its JSON text' },
          encoding: { enum: ['utf8', 'base64'] },
          contentType: { type: 'string' },
          headers: { type: 'object', additionalProperties: { type: 'string' } },
        },
        additionalProperties: false,
      },
      BatchResults: { type: 'object', properties: { results: { type: 'array', items: { oneOf: [{ $ref: '#/components/schemas/Written' }, { $ref: '#/components/schemas/Error' }] } } } },
    },
  },
} as const;

export function openApiDocument(): object {
  return DOCUMENT;
}
