# Multi-stage build of the drawbridge operator: a static binary on a
# distroless non-root base.
FROM golang:1.26 AS build
ARG VERSION=dev
WORKDIR /src
ENV GOTOOLCHAIN=local CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY main.go ./
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/drawbridge .

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/drawbridge /drawbridge
USER 65532:65532
ENTRYPOINT ["/drawbridge"]
