// server.js: the foreign OPC UA server the devices/opcua tests run against, on node-opcua
// (package.json beside it pins the version; scripts/test.sh installs it outside the checkout).
//
// It serves a chiller under Objects/Plant/Chiller1 in namespace urn:facilityd:test:plant:
//   SupplyTemp  Double, rises by 0.5 every 100 ms from 6.0 (wraps at 12.0)
//   ReturnTemp  Double, 12.0
//   Running     Boolean, true
//   Setpoint    Double, writable, 7.0
//
// Environment:
//   OPCUA_PORT       the loopback port to listen on (required)
//   OPCUA_PKI        the folder for the server's certificates (required; kept across restarts)
//   OPCUA_SECURE     "1": SignAndEncrypt endpoints only (no None)
//   OPCUA_ID_BASE    first numeric id of the chiller's variables (default 1001): a restart with
//                    another base plays a server whose numeric ids change on reboot
//   OPCUA_EXTRA_NS   "1": register another namespace before the plant's, so its index moves
//   OPCUA_SETPOINT   the setpoint's value at start (default 7.0)
//   OPCUA_NO_SUBSCRIPTIONS  "1": refuse every CreateSubscription (BadTooManySubscriptions)
// Prints "ready" on stdout once it listens; stops on SIGTERM.
"use strict";
const path = require("path");
const {
	OPCUAServer, OPCUACertificateManager, Variant, DataType, MessageSecurityMode, SecurityPolicy,
} = require("node-opcua");

async function main() {
	const port = parseInt(process.env.OPCUA_PORT, 10);
	const pki = process.env.OPCUA_PKI;
	if (!port || !pki) {
		throw new Error("set OPCUA_PORT and OPCUA_PKI");
	}
	const secure = process.env.OPCUA_SECURE === "1";
	const base = parseInt(process.env.OPCUA_ID_BASE || "1001", 10);
	const serverCertificateManager = new OPCUACertificateManager({
		rootFolder: path.join(pki, "server"),
		// The tests are about facilityd's trust of the server; the server takes any client.
		automaticallyAcceptUnknownCertificate: true,
	});
	const userCertificateManager = new OPCUACertificateManager({
		rootFolder: path.join(pki, "user"),
		automaticallyAcceptUnknownCertificate: true,
	});
	const policies = [SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep, SecurityPolicy.Aes256_Sha256_RsaPss];
	const server = new OPCUAServer({
		port,
		hostname: "127.0.0.1",
		serverCertificateManager,
		userCertificateManager,
		securityModes: secure
			? [MessageSecurityMode.SignAndEncrypt]
			: [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
		securityPolicies: secure ? policies : [SecurityPolicy.None, ...policies],
		allowAnonymous: true,
		userManager: { isValidUser: (user, password) => user === "operator" && password === "secret" },
		serverInfo: { applicationUri: "urn:facilityd:test:server", productUri: "urn:facilityd:test:server" },
	});
	await server.initialize();
	if (process.env.OPCUA_NO_SUBSCRIPTIONS === "1") {
		server.engine.serverCapabilities.maxSubscriptionsPerSession = 0;
	}
	const space = server.engine.addressSpace;
	if (process.env.OPCUA_EXTRA_NS === "1") {
		space.registerNamespace("urn:facilityd:test:other");
	}
	const ns = space.registerNamespace("urn:facilityd:test:plant");
	const plant = ns.addFolder(space.rootFolder.objects, { browseName: "Plant", nodeId: "s=Plant" });
	const chiller = ns.addObject({ organizedBy: plant, browseName: "Chiller1", nodeId: "s=Chiller1" });
	const double = (v) => new Variant({ dataType: DataType.Double, value: v });
	// node-opcua makes a variable writable unless told; only the setpoint is.
	const ro = { accessLevel: "CurrentRead", userAccessLevel: "CurrentRead" };
	const supply = ns.addVariable({
		...ro, componentOf: chiller, browseName: "SupplyTemp", nodeId: `i=${base}`, dataType: "Double", value: double(6.0),
	});
	ns.addVariable({
		...ro, componentOf: chiller, browseName: "ReturnTemp", nodeId: `i=${base + 1}`, dataType: "Double", value: double(12.0),
	});
	ns.addVariable({
		...ro, componentOf: chiller, browseName: "Running", nodeId: `i=${base + 2}`, dataType: "Boolean",
		value: new Variant({ dataType: DataType.Boolean, value: true }),
	});
	ns.addVariable({
		componentOf: chiller, browseName: "Setpoint", nodeId: `i=${base + 3}`, dataType: "Double",
		accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
		value: double(parseFloat(process.env.OPCUA_SETPOINT || "7.0")),
	});
	let t = 6.0;
	const timer = setInterval(() => {
		t = t >= 12.0 ? 6.0 : t + 0.5;
		supply.setValueFromSource(double(t));
	}, 100);
	await server.start();
	process.stdout.write("ready\n");
	const stop = async () => {
		clearInterval(timer);
		await server.shutdown(0);
		process.exit(0);
	};
	process.on("SIGTERM", stop);
	process.on("SIGINT", stop);
}

main().catch((err) => {
	process.stderr.write(`server.js: ${err && err.stack ? err.stack : err}\n`);
	process.exit(1);
});
