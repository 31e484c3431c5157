// Package opcua reads and writes the points of OPC UA servers (a chiller plant's controller, a
// building-management or energy system) through github.com/gopcua/opcua.
//
// A device is one server endpoint and a profile whose points are located by node id
// (ns=2;s=Chiller1.SupplyTemp, nsu=URI;i=1001) or by browse path (/Objects/Plant/Chiller1/
// SupplyTemp, resolved with TranslateBrowsePathsToNodeIds at every connect). Values arrive by
// subscription, or by polling reads where the server refuses one; a broken session is replaced
// by one new session at a time, with backoff, and everything built on it (namespaces, browse
// paths, monitored items) is built again.
//
// Files: profile.go holds the points and their addresses, endpoint.go the choice of endpoint
// and identity, pki.go facilityd's application certificate and the trust list of server
// certificates, value.go status codes and variants, session.go one session's reads and
// subscription, driver.go the loop that keeps a session up, write.go writes and read-back,
// browse.go the address space listed and a draft profile made of it.
package opcua
