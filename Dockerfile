# One image for every target; the command line picks the target.
#
# Build stage: the whole workspace installed, the server compiled to services/server/dist (see
# services/server/build.ts), then the install replaced by the server's production dependencies
# alone: the compiled output bundles the workspace packages and imports nothing else.
FROM node:20-bookworm-slim AS build
RUN npm i -g -E pnpm@12.4.2
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build
RUN rm -rf node_modules packages/*/node_modules services/*/node_modules \
	&& pnpm install --frozen-lockfile --prod --offline --filter @igoudar/server

# Runtime stage: Node, the compiled server, its production dependencies, and the files it reads
# (migrations, the OpenAPI document) where the compiled code looks for them. No TypeScript, no
# compiler, no development dependencies.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
COPY --from=build /app/package.json /app/pnpm-workspace.yaml ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/openapi/igoudar.json ./openapi/igoudar.json
COPY --from=build /app/services/server/package.json ./services/server/package.json
COPY --from=build /app/services/server/node_modules ./services/server/node_modules
COPY --from=build /app/services/server/bin ./services/server/bin
COPY --from=build /app/services/server/dist ./services/server/dist
# Local state (volume files of the `local` storage driver) is the one place it writes.
RUN mkdir -p .data && chown node:node .data
USER node
EXPOSE 8080
ENTRYPOINT ["node", "services/server/bin/igoudar-server.mjs"]
CMD ["--target=all"]
