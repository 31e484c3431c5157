package grafana

import (
	"errors"
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// Data source identities the provisioning file declares (provisioning/datasources).
const (
	InfluxUID      = "facilityd-influxdb"
	PrometheusUID  = "facilityd-prometheus"
	influxType     = "influxdb"
	prometheusType = "prometheus"
)

// InfluxQuery is a raw InfluxQL target of Grafana's InfluxDB data source. The SDK ships no
// InfluxDB query type, so this one implements its Dataquery variant with the fields the
// data source reads (public/app/plugins/datasource/influxdb/types.ts: query, rawQuery,
// resultFormat, alias).
type InfluxQuery struct {
	RefID        string               `json:"refId"`
	Datasource   common.DataSourceRef `json:"datasource"`
	Query        string               `json:"query"`
	RawQuery     bool                 `json:"rawQuery"`
	ResultFormat string               `json:"resultFormat"`
	Alias        string               `json:"alias,omitempty"`
}

// ImplementsDataqueryVariant marks InfluxQuery as a panel target.
func (InfluxQuery) ImplementsDataqueryVariant() {}

// DataqueryType is the data source plugin that runs the query.
func (InfluxQuery) DataqueryType() string { return influxType }

// Validate refuses a target without InfluxQL: Grafana would show an empty panel.
func (q InfluxQuery) Validate() error {
	if q.Query == "" {
		return errors.New("influx query: empty InfluxQL")
	}
	return nil
}

// Equals compares two targets field by field.
func (q InfluxQuery) Equals(other variants.Dataquery) bool {
	o, ok := other.(InfluxQuery)
	return ok && reflect.DeepEqual(q, o)
}

// influx is a builder of a raw InfluxQL target for the SDK's panel builders.
type influx struct{ q InfluxQuery }

var _ cog.Builder[variants.Dataquery] = influx{}

func (b influx) Build() (variants.Dataquery, error) { return b.q, b.q.Validate() }

// influxQL returns a time-series target; refID names it within its panel.
func influxQL(refID, alias, query string) influx {
	return influx{InfluxQuery{RefID: refID, Datasource: influxRef(), Query: query, RawQuery: true,
		ResultFormat: "time_series", Alias: alias}}
}

// influxTable returns a target whose rows Grafana shows as a table.
func influxTable(refID, query string) influx {
	b := influxQL(refID, "", query)
	b.q.ResultFormat = "table"
	return b
}

func influxRef() common.DataSourceRef {
	t, u := influxType, InfluxUID
	return common.DataSourceRef{Type: &t, Uid: &u}
}

func prometheusRef() common.DataSourceRef {
	t, u := prometheusType, PrometheusUID
	return common.DataSourceRef{Type: &t, Uid: &u}
}
