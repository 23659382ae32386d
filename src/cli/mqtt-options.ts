import type { Command } from 'commander';

/**
 * The MQTT options `embody bridge`, `agent` and `sim-device` share: encoding, rate limiting and
 * how to authenticate. `usernameDefault` says whose name is used when none is given.
 */
export function addMqttOptions(cmd: Command, usernameDefault: string): Command {
  return cmd
    .option('--codec <json|cbor>', 'payload encoding of the messages we send', 'json')
    .option('--no-rate-limit', 'do not rate-limit setpoint changes (clamping and geofence stay on)')
    .option('--username <name>', `broker username (default: ${usernameDefault})`)
    .option('--password-file <file>', 'file holding the broker password (default $EMBODY_MQTT_PASSWORD)')
    .option('--insecure', 'allow a non-loopback broker without TLS and credentials');
}
