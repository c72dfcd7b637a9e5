// go-original: a stand-in for the Go service Box Box replaces, for
// order-bench.sh to measure beside our stack in the same run (issue 5's
// first row: "Echo + nats.go, waiting for the JetStream ack, serving HTTP
// itself"). It is written from the seed's description, not from that
// service's code: Echo 4 with its logger, recover and CORS middleware;
// POST /v1/order checks the body as paddock-fcgi does (JSON content type,
// at most 64 KiB, valid UTF-8, one JSON object with the four fields and
// nothing after it, the fields' values), gives the order a random UUID
// and a time, and publishes the same stored JSON on
// <prefix>.waiting_to_cook.<id> with Nats-Msg-Id, answering 200 only
// after JetStream's acknowledgement. Echo's logger writes a line per
// request, one write(2) each, as the original's did to standard output.
// No OpenTelemetry: leaving it out can only make this reference faster.
//
// order-bench.sh -g builds it from Debian's packages, in GOPATH mode
// (build_go there), and runs it:
//
//	go-original -listen 127.0.0.1:PORT -nats nats://127.0.0.1:PORT
//	            -stream NAME -prefix SUBJECT_PREFIX -log FILE
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/nats-io/nats.go"
)

type orderIn struct {
	Size        string   `json:"size"`
	Toppings    []string `json:"toppings"`
	Destination string   `json:"destination"`
	Username    string   `json:"username"`
}

// The stored message, its keys in paddock-fcgi's order.
type orderOut struct {
	OrderID     string   `json:"order_id"`
	Size        string   `json:"size"`
	Toppings    []string `json:"toppings"`
	Destination string   `json:"destination"`
	Username    string   `json:"username"`
	OrderedAt   string   `json:"ordered_at"`
	Status      string   `json:"status"`
}

type fieldErr struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

type apiErr struct {
	Error   string     `json:"error"`
	Details []fieldErr `json:"details,omitempty"`
}

var sizes = map[string]bool{"small": true, "medium": true, "large": true}

func checkString(f, v string, max int, out *[]fieldErr) {
	switch {
	case v == "":
		*out = append(*out, fieldErr{f, "is required"})
	case len(v) > max:
		*out = append(*out, fieldErr{f, fmt.Sprintf("longer than %d bytes", max)})
	}
}

func check(o *orderIn) []fieldErr {
	var out []fieldErr
	if !sizes[o.Size] {
		out = append(out, fieldErr{"size", "must be one of small, medium, large"})
	}
	if len(o.Toppings) > 20 {
		out = append(out, fieldErr{"toppings", "more than 20"})
	}
	for _, t := range o.Toppings {
		checkString("toppings", t, 64, &out)
	}
	checkString("destination", o.Destination, 128, &out)
	checkString("username", o.Username, 64, &out)
	return out
}

func uuid4() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to serve HTTP on")
	natsURL := flag.String("nats", nats.DefaultURL, "NATS server")
	stream := flag.String("stream", "GOORDERS", "JetStream stream, created if missing")
	prefix := flag.String("prefix", "goorders", "subject prefix")
	logPath := flag.String("log", "", "request log (default: standard output)")
	flag.Parse()

	nc, err := nats.Connect(*natsURL, nats.MaxReconnects(-1))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-original:", err)
		os.Exit(1)
	}
	js, err := nc.JetStream()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-original:", err)
		os.Exit(1)
	}
	if _, err := js.StreamInfo(*stream); err == nats.ErrStreamNotFound {
		_, err = js.AddStream(&nats.StreamConfig{
			Name:       *stream,
			Subjects:   []string{*prefix + ".>"},
			Storage:    nats.FileStorage,
			Duplicates: 2 * time.Minute,
			MaxAge:     7 * 24 * time.Hour,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-original: stream:", err)
			os.Exit(1)
		}
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "go-original: stream:", err)
		os.Exit(1)
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	logCfg := middleware.DefaultLoggerConfig
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-original:", err)
			os.Exit(1)
		}
		logCfg.Output = f
	}
	e.Use(middleware.LoggerWithConfig(logCfg))
	e.Use(middleware.Recover())
	e.Use(middleware.CORS())

	e.GET("/health/live", func(c echo.Context) error {
		return c.JSONBlob(http.StatusOK, []byte(`{"status":"ok"}`))
	})
	e.POST("/v1/order", func(c echo.Context) error {
		var in orderIn
		ct, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
		if ct != "application/json" {
			return c.JSON(http.StatusUnsupportedMediaType,
				apiErr{Error: "request body must be application/json"})
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 65536))
		if err != nil {
			return c.JSON(http.StatusRequestEntityTooLarge, apiErr{Error: err.Error()})
		}
		if !utf8.Valid(body) {
			return c.JSON(http.StatusBadRequest, apiErr{Error: "body is not valid UTF-8"})
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return c.JSON(http.StatusBadRequest, apiErr{Error: err.Error()})
		}
		if _, err := dec.Token(); err != io.EOF {
			return c.JSON(http.StatusBadRequest, apiErr{Error: "trailing data after the order"})
		}
		if d := check(&in); d != nil {
			return c.JSON(http.StatusUnprocessableEntity,
				apiErr{Error: "invalid order", Details: d})
		}
		if in.Toppings == nil {
			in.Toppings = []string{}
		}
		out := orderOut{uuid4(), in.Size, in.Toppings, in.Destination,
			in.Username, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
			"pending"}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&out); err != nil {
			return err
		}
		msg := nats.NewMsg(*prefix + ".waiting_to_cook." + out.OrderID)
		msg.Header.Set(nats.MsgIdHdr, out.OrderID)
		msg.Data = bytes.TrimRight(buf.Bytes(), "\n")
		if _, err := js.PublishMsg(msg, nats.AckWait(5*time.Second)); err != nil {
			return c.JSON(http.StatusServiceUnavailable,
				apiErr{Error: "order not stored: " + err.Error()})
		}
		c.Response().Header().Set("Location", "/v1/order/"+out.OrderID)
		return c.JSON(http.StatusOK, map[string]string{
			"order_id": out.OrderID, "ordered_at": out.OrderedAt})
	})
	if err := e.Start(*listen); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "go-original:", err)
		os.Exit(1)
	}
}
