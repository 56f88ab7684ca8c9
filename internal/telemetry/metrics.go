// Package telemetry owns the Prometheus registry and the metrics every
// component reports through small interfaces.
package telemetry

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the process's metrics registry.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpLatency  *prometheus.HistogramVec

	outboxPublished prometheus.Counter
	outboxFailures  prometheus.Counter
	outboxLag       prometheus.Gauge
	outboxPending   prometheus.Gauge

	webhookDelivered prometheus.Counter
	webhookFailed    prometheus.Counter
	webhookDead      prometheus.Counter
	rtConnections    prometheus.Gauge
	rtDropped        *prometheus.CounterVec
	retentionDeleted *prometheus.CounterVec
	webhookLatency   prometheus.Histogram
}

// New registers every metric.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	m.httpLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "switchboard_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	m.outboxPublished = prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_outbox_published_total", Help: "Events relayed from the outbox to the bus."})
	m.outboxFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_outbox_relay_failures_total", Help: "Outbox relay rounds that failed."})
	m.outboxLag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_outbox_lag_seconds", Help: "Age of the oldest event in the last relayed batch, or of the oldest waiting event."})
	m.outboxPending = prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_outbox_pending", Help: "Events waiting in the outbox."})
	m.webhookDelivered = prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_webhook_deliveries_total", Help: "Webhook deliveries that succeeded."})
	m.webhookFailed = prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_webhook_delivery_failures_total", Help: "Webhook delivery attempts that failed."})
	m.webhookDead = prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_webhook_dead_letters_total", Help: "Webhook deliveries dead-lettered after their last attempt."})
	m.webhookLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "switchboard_webhook_delivery_latency_seconds", Help: "Time from an event's commit to its successful delivery.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 300},
	})
	m.rtConnections = prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_realtime_connections", Help: "Open real-time WebSocket connections on this node."})
	m.rtDropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_realtime_disconnects_total", Help: "Real-time connections cut off by the server, by reason."}, []string{"reason"})
	m.retentionDeleted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_retention_deleted_total", Help: "Records deleted by retention policies, by kind."}, []string{"kind"})
	m.reg.MustRegister(m.rtConnections, m.rtDropped, m.retentionDeleted)
	m.reg.MustRegister(m.httpRequests, m.httpLatency, m.outboxPublished, m.outboxFailures, m.outboxLag, m.outboxPending,
		m.webhookDelivered, m.webhookFailed, m.webhookDead, m.webhookLatency)
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry exposes the registry for components with their own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveHTTP records one request.
func (m *Metrics) ObserveHTTP(route string, code int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, codeLabel(code)).Inc()
	m.httpLatency.WithLabelValues(route).Observe(d.Seconds())
}

func codeLabel(code int) string {
	const digits = "0123456789"
	if code < 100 || code > 999 {
		return "000"
	}
	return string([]byte{digits[code/100], digits[code/10%10], digits[code%10]})
}

// Published implements bus.RelayMetrics.
func (m *Metrics) Published(n int, oldest time.Duration) {
	m.outboxPublished.Add(float64(n))
	m.outboxLag.Set(oldest.Seconds())
}

// Failed implements bus.RelayMetrics.
func (m *Metrics) Failed() { m.outboxFailures.Inc() }

// OutboxPending sets the backlog gauges.
func (m *Metrics) OutboxPending(n int64, oldest time.Duration) {
	m.outboxPending.Set(float64(n))
	m.outboxLag.Set(oldest.Seconds())
}

// Delivered implements webhook.Metrics.
func (m *Metrics) Delivered(latency time.Duration) {
	m.webhookDelivered.Inc()
	m.webhookLatency.Observe(latency.Seconds())
}

// AttemptFailed implements webhook.Metrics.
func (m *Metrics) AttemptFailed() { m.webhookFailed.Inc() }

// DeadLettered implements webhook.Metrics.
func (m *Metrics) DeadLettered() { m.webhookDead.Inc() }

// RealtimeConnections counts real-time connections opening and closing.
func (m *Metrics) RealtimeConnections(delta int) { m.rtConnections.Add(float64(delta)) }

// RealtimeDropped counts connections the server cut off.
func (m *Metrics) RealtimeDropped(reason string) { m.rtDropped.WithLabelValues(reason).Inc() }

// RetentionDeleted counts records a retention sweep deleted.
func (m *Metrics) RetentionDeleted(kind string, n int) {
	m.retentionDeleted.WithLabelValues(kind).Add(float64(n))
}
