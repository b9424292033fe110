package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Image is one test image as the data: URI a client would send.
type Image struct {
	Name    string
	DataURI string
}

func LoadImages(dir string, names []string) ([]Image, error) {
	var out []Image
	for _, name := range names {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		kind := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
		if kind == "" {
			kind = "application/octet-stream"
		}
		out = append(out, Image{Name: name, DataURI: "data:" + kind + ";base64," + base64.StdEncoding.EncodeToString(raw)})
	}
	return out, nil
}

// chatScenario: POST /v1/chat/completions with text only, one image, several images (images < 0), or streamed.
type chatScenario struct {
	name   string
	images int
	stream bool
}

func (s *chatScenario) Setup(_ context.Context, env *Env) (string, error) {
	if s.images != 0 && len(env.Images) == 0 {
		return "", fail("the profile lists no images")
	}
	return "", nil
}

func (s *chatScenario) Iterate(ctx context.Context, env *Env, vu, it int) error {
	n := s.images
	if n < 0 {
		n = env.Profile.Request.ImagesPerRequest
	}
	body := chatBody(env, userContent(env, vu+it, n), s.stream)
	start := time.Now()
	resp, err := post(ctx, env, "/v1/chat/completions", body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return httpError(resp)
	}
	if s.stream {
		return readStream(env, s.name, resp.Body, start)
	}
	var answer completion
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fail("reading the answer: %v", err)
	}
	total := time.Since(start)
	env.Metrics.Trend("request_duration", s.name, ms(total))
	if len(answer.Choices) == 0 {
		return fail("the answer has no choices")
	}
	recordTokens(env.Metrics, s.name, total, 0, answer.Usage.CompletionTokens)
	return nil
}

type completion struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// readStream reads an SSE answer as it arrives. Time to first token is measured at the first chunk that carries
// content: the client sees the answer start then, which k6's whole-body client cannot observe.
func readStream(env *Env, scenario string, body io.Reader, start time.Time) error {
	var firstToken time.Duration
	contentChunks, completionTokens, done := 0, 0, false
	events := bufio.NewScanner(body)
	events.Buffer(make([]byte, 64<<10), 16<<20)
	for events.Scan() {
		line := events.Text()
		if !strings.HasPrefix(line, "data:") {
			continue // blank separators, comments, event: lines
		}
		data := strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		if data == "[DONE]" {
			done = true
			break
		}
		var chunk completion
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return fail("an SSE event is not JSON: %.200s", data)
		}
		if chunk.Error != nil {
			return fail("the stream ended with an error: %s", chunk.Error.Message)
		}
		for _, c := range chunk.Choices {
			if c.Delta.Content != "" {
				if firstToken == 0 {
					firstToken = time.Since(start)
				}
				contentChunks++
			}
		}
		if chunk.Usage.CompletionTokens > 0 {
			completionTokens = chunk.Usage.CompletionTokens
		}
	}
	if err := events.Err(); err != nil {
		return fail("reading the stream: %v", err)
	}
	if !done {
		return fail("the stream ended without [DONE]")
	}
	total := time.Since(start)
	env.Metrics.Trend("request_duration", scenario, ms(total))
	if completionTokens == 0 {
		completionTokens = contentChunks // no usage chunk: one token per content chunk
	}
	recordTokens(env.Metrics, scenario, total, firstToken, completionTokens)
	return nil
}

func userContent(env *Env, pick, images int) []map[string]any {
	req := env.Profile.Request
	var parts []map[string]any
	for i := 0; i < images; i++ {
		img := env.Images[(pick+i)%len(env.Images)]
		url := map[string]any{"url": img.DataURI}
		parts = append(parts, map[string]any{"type": "image_url", "image_url": url})
	}
	return append(parts, map[string]any{"type": "text", "text": req.Prompts[pick%len(req.Prompts)]})
}

func chatBody(env *Env, content []map[string]any, stream bool) map[string]any {
	req := env.Profile.Request
	body := map[string]any{
		"model":       env.Model,
		"messages":    []map[string]any{{"role": "user", "content": content}},
		"max_tokens":  req.MaxTokens,
		"temperature": req.Temperature,
	}
	if req.MaxDynamicPatch > 0 {
		body["max_dynamic_patch"] = req.MaxDynamicPatch
	}
	if stream {
		body["stream"] = true
		body["stream_options"] = map[string]any{"include_usage": true}
	}
	return body
}

func post(ctx context.Context, env *Env, path string, body any) (*http.Response, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.GatewayURL+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := env.HTTP.Do(req)
	if err != nil {
		return nil, fail("POST %s: %v", path, err)
	}
	return resp, nil
}

func httpError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	return fmt.Errorf("%s %s: HTTP %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, strings.TrimSpace(string(raw)))
}

// conversationScenario: a conversation kept by the gateway: POST /v1/conversations, then two messages in it
// (POST /v1/conversations/{id}/messages), the second building on the first's history.
type conversationScenario struct{}

func (s *conversationScenario) Setup(context.Context, *Env) (string, error) { return "", nil }

func (s *conversationScenario) Iterate(ctx context.Context, env *Env, vu, it int) error {
	const name = "conversation"
	start := time.Now()
	resp, err := post(ctx, env, "/v1/conversations", map[string]any{"metadata": map[string]string{"source": "meshload"}})
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusNotFound {
		resp.Body.Close()
		return errSkip{"the gateway does not serve POST /v1/conversations yet (HTTP 404)"}
	}
	var created struct {
		ID string `json:"id"`
	}
	err = decodeOK(resp, &created)
	if err != nil {
		return err
	}
	if created.ID == "" {
		return fail("POST /v1/conversations: no id in the answer")
	}
	env.Metrics.Trend("request_duration", name, ms(time.Since(start)))
	for turn := 0; turn < 2; turn++ {
		start := time.Now()
		message := map[string]any{
			"model":      env.Model,
			"content":    userContent(env, vu+it+turn, 0),
			"max_tokens": env.Profile.Request.MaxTokens,
		}
		resp, err := post(ctx, env, "/v1/conversations/"+created.ID+"/messages", message)
		if err != nil {
			return err
		}
		var answer completion
		if err := decodeOK(resp, &answer); err != nil {
			return err
		}
		total := time.Since(start)
		env.Metrics.Trend("request_duration", name, ms(total))
		recordTokens(env.Metrics, name, total, 0, answer.Usage.CompletionTokens)
	}
	return nil
}

func decodeOK(resp *http.Response, into any) error {
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return httpError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fail("%s %s: the answer is not JSON: %v", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}
