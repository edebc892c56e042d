# One image for every target; the command line picks the target.
FROM node:20-bookworm-slim
RUN npm i -g -E pnpm@12.4.2
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
EXPOSE 8080
ENTRYPOINT ["node", "services/server/bin/igoudar-server.mjs"]
CMD ["--target=all"]
