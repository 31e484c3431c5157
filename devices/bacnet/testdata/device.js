// device.js: a BACnet/IP device on @bacnet-js/client, a stack this repository did not write,
// for devices/bacnet's foreign-device test (foreign_test.go). It serves a Device object
// (instance 3001), the analog input of ASHRAE 135-2020 Annex F.3.5 (analog-input:5, present
// value 72.3), a commandable analog value with a priority array and a binary value, answers
// Who-Is, ReadProperty, ReadPropertyMultiple, WriteProperty and SubscribeCOV, and sends COV
// notifications on writes.
//
//   FACILITYD_BACNET_DEVICE_PORT=47809 NODE_PATH=<dir with @bacnet-js/client> node device.js
//
// It prints "ready" once listening, and "cov-ack <object>" for each confirmed notification
// the subscriber acknowledged.
'use strict';

const Bacnet = require('@bacnet-js/client');
const { ObjectType, PropertyIdentifier: P, ApplicationTag: T, ErrorClass, ErrorCode } = Bacnet;

const port = Number(process.env.FACILITYD_BACNET_DEVICE_PORT || 47808);
const deviceId = 3001;
const ARRAY_ALL = 0xffffffff;

const client = new Bacnet.default({ port, interface: '127.0.0.1', apduTimeout: 2000 });

const real = (v) => ({ type: T.REAL, value: v });
const flags = { type: T.BIT_STRING, value: { bitsUsed: 4, value: [0] } };

// Each object: its fixed properties, and for a commandable one a priority array of 16 slots.
const objects = {
  [`${ObjectType.DEVICE}:${deviceId}`]: {
    id: { type: ObjectType.DEVICE, instance: deviceId },
    props: {
      [P.OBJECT_NAME]: [{ type: T.CHARACTER_STRING, value: 'Foreign AHU' }],
      [P.MAX_APDU_LENGTH_ACCEPTED]: [{ type: T.UNSIGNED_INTEGER, value: 1476 }],
      [P.SEGMENTATION_SUPPORTED]: [{ type: T.ENUMERATED, value: 3 }],
      [P.VENDOR_IDENTIFIER]: [{ type: T.UNSIGNED_INTEGER, value: 260 }],
    },
  },
  [`${ObjectType.ANALOG_INPUT}:5`]: {
    id: { type: ObjectType.ANALOG_INPUT, instance: 5 },
    props: {
      [P.OBJECT_NAME]: [{ type: T.CHARACTER_STRING, value: 'Outside air temperature' }],
      [P.PRESENT_VALUE]: [real(72.3)],
      [P.STATUS_FLAGS]: [flags],
      [P.UNITS]: [{ type: T.ENUMERATED, value: 64 }], // degrees-Fahrenheit
    },
  },
  [`${ObjectType.ANALOG_VALUE}:1`]: {
    id: { type: ObjectType.ANALOG_VALUE, instance: 1 },
    props: {
      [P.OBJECT_NAME]: [{ type: T.CHARACTER_STRING, value: 'Supply air setpoint' }],
      [P.STATUS_FLAGS]: [flags],
      [P.UNITS]: [{ type: T.ENUMERATED, value: 62 }], // degrees-Celsius
      [P.RELINQUISH_DEFAULT]: [real(20)],
    },
    priority: new Array(16).fill(null),
  },
  [`${ObjectType.BINARY_VALUE}:1`]: {
    id: { type: ObjectType.BINARY_VALUE, instance: 1 },
    props: {
      [P.OBJECT_NAME]: [{ type: T.CHARACTER_STRING, value: 'Occupied' }],
      [P.PRESENT_VALUE]: [{ type: T.ENUMERATED, value: 1 }],
      [P.STATUS_FLAGS]: [flags],
    },
  },
};
objects[`${ObjectType.DEVICE}:${deviceId}`].props[P.OBJECT_LIST] = Object.values(objects).map((o) => ({
  type: T.OBJECTIDENTIFIER,
  value: o.id,
}));

const key = (id) => `${id.type}:${id.instance}`;

// read returns the values of a property, or an error of class and code.
function read(objectId, prop) {
  const o = objects[key(objectId)];
  if (!o) return { error: [ErrorClass.OBJECT, ErrorCode.UNKNOWN_OBJECT] };
  let values;
  if (prop.id === P.OBJECT_IDENTIFIER) values = [{ type: T.OBJECTIDENTIFIER, value: o.id }];
  else if (prop.id === P.OBJECT_TYPE) values = [{ type: T.ENUMERATED, value: o.id.type }];
  else if (o.priority && prop.id === P.PRESENT_VALUE) values = [present(o)];
  else if (o.priority && prop.id === P.PRIORITY_ARRAY) values = o.priority.map((v) => v || { type: T.NULL, value: null });
  else values = o.props[prop.id];
  if (!values) return { error: [ErrorClass.PROPERTY, ErrorCode.UNKNOWN_PROPERTY] };
  if (prop.index === undefined || prop.index === ARRAY_ALL) return { values };
  if (prop.index === 0) return { values: [{ type: T.UNSIGNED_INTEGER, value: values.length }] };
  if (prop.index > values.length) return { error: [ErrorClass.PROPERTY, ErrorCode.INVALID_ARRAY_INDEX] };
  return { values: [values[prop.index - 1]] };
}

function present(o) {
  return o.priority.find((v) => v) || o.props[P.RELINQUISH_DEFAULT][0];
}

const subscriptions = [];

function notify(o) {
  for (const s of subscriptions) {
    if (key(s.object) !== key(o.id)) continue;
    const values = [
      { property: { id: P.PRESENT_VALUE }, value: [read(o.id, { id: P.PRESENT_VALUE }).values[0]] },
      { property: { id: P.STATUS_FLAGS }, value: [flags] },
    ];
    if (s.confirmed) {
      client
        .confirmedCOVNotification(s.to, o.id, s.process, deviceId, s.lifetime, values)
        .then(() => console.log(`cov-ack ${key(o.id)}`))
        .catch((e) => console.error(`cov notification not acknowledged: ${e.message}`));
    } else {
      client.unconfirmedCOVNotification(s.to, s.process, deviceId, o.id, s.lifetime, values);
    }
  }
}

client.on('whoIs', (msg) => {
  const { lowLimit, highLimit } = msg.payload;
  if (lowLimit !== undefined && (deviceId < lowLimit || deviceId > highLimit)) return;
  client.iAmResponse(msg.header.sender, deviceId, 3, 260);
});

client.on('readProperty', (msg) => {
  const { objectId, property } = msg.payload;
  const r = read(objectId, property);
  if (r.error) {
    client.errorResponse(msg.header.sender, msg.service, msg.invokeId, r.error[0], r.error[1]);
    return;
  }
  client.readPropertyResponse(msg.header.sender, msg.invokeId, objectId, property, r.values);
});

client.on('readPropertyMultiple', (msg) => {
  const out = msg.payload.properties.map((spec) => ({
    objectId: spec.objectId,
    values: spec.properties.map((prop) => {
      const r = read(spec.objectId, prop);
      const value = r.error
        ? [{ value: { type: 'BacnetError', errorClass: r.error[0], errorCode: r.error[1] } }]
        : r.values;
      return { property: prop, value };
    }),
  }));
  client.readPropertyMultipleResponse(msg.header.sender, msg.invokeId, out);
});

client.on('writeProperty', (msg) => {
  const { objectId, value } = msg.payload;
  const o = objects[key(objectId)];
  const fail = (c, e) => client.errorResponse(msg.header.sender, msg.service, msg.invokeId, c, e);
  if (!o) return fail(ErrorClass.OBJECT, ErrorCode.UNKNOWN_OBJECT);
  if (!o.priority || value.property.id !== P.PRESENT_VALUE) return fail(ErrorClass.PROPERTY, ErrorCode.WRITE_ACCESS_DENIED);
  const v = value.value[0];
  if (v.type !== T.NULL && v.type !== T.REAL) return fail(ErrorClass.PROPERTY, ErrorCode.INVALID_DATA_TYPE);
  o.priority[(value.priority || 16) - 1] = v.type === T.NULL ? null : v;
  client.simpleAckResponse(msg.header.sender, msg.service, msg.invokeId);
  notify(o);
});

client.on('subscribeCov', (msg) => {
  const p = msg.payload;
  const o = objects[key(p.monitoredObjectId)];
  if (!o) {
    client.errorResponse(msg.header.sender, msg.service, msg.invokeId, ErrorClass.OBJECT, ErrorCode.UNKNOWN_OBJECT);
    return;
  }
  const same = (s) => s.process === p.subscriberProcessId && key(s.object) === key(p.monitoredObjectId);
  for (let i = subscriptions.length - 1; i >= 0; i--) if (same(subscriptions[i])) subscriptions.splice(i, 1);
  client.simpleAckResponse(msg.header.sender, msg.service, msg.invokeId);
  if (p.cancellationRequest) return;
  subscriptions.push({
    to: msg.header.sender,
    process: p.subscriberProcessId,
    object: p.monitoredObjectId,
    confirmed: p.issueConfirmedNotifications,
    lifetime: p.lifetime,
  });
  notify(o);
});

client.on('error', (e) => console.error(`bacnet: ${e.message}`));
client.on('listening', () => console.log('ready'));
process.on('SIGTERM', () => {
  client.close();
  process.exit(0);
});
