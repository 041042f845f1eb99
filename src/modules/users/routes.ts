import { Elysia } from "elysia";
import type { Store } from "../../db/client";
import type { authentication } from "../../http/auth";
import { ErrorBody, withFailures } from "../../http/errors";
import { UsernameParams } from "../../http/path-params";
import { answerPage, pageOf } from "../../http/pagination";
import { CreateUser, presentUser, UpdateUser, UserQuery, UserRecord } from "./model";
import { addUser, listUsers, removeUser, updateUser } from "./service";

export interface UserRouteDeps {
  store: Store;
  auth: ReturnType<typeof authentication>;
}

export const userRoutes = ({ store, auth }: UserRouteDeps) =>
  new Elysia({ name: "keyward/users", prefix: "/api/v1/users", detail: { tags: ["Users"] } })
    .use(auth)
    .post(
      "",
      async ({ body, actor, status }) => {
        const row = await addUser(store, body, actor());
        return status(201, presentUser(row));
      },
      {
        auth: "admin",
        body: CreateUser,
        response: withFailures({ 201: UserRecord, 409: ErrorBody }, "credential", "body"),
        detail: { summary: "Add a user who can log in with a password", description: "The password is kept only as an argon2id hash." },
      },
    )
    .get("", async ({ query, set }) => answerPage(set, await listUsers(store.db, query), presentUser), {
      auth: "admin",
      query: UserQuery,
      response: withFailures({ 200: pageOf(UserRecord) }, "credential", "input"),
      detail: { summary: "List users", description: "Newest first, `limit` at a time; the X-Next-Cursor header leads to the next page." },
    })
    .patch(
      "/:username",
      async ({ params, body, actor }) => {
        const row = await updateUser(store, params.username, body, actor());
        return presentUser(row);
      },
      {
        auth: "admin",
        params: UsernameParams,
        body: UpdateUser,
        response: withFailures({ 200: UserRecord, 404: ErrorBody }, "credential", "body", "input"),
        detail: {
          summary: "Change a user's password, role, disabled flag or scopes",
          description:
            "Disabling refuses all of the user's tokens at once. A new password or role ends their login sessions. New scopes end nothing: every open browser session carries them from the next request on.",
        },
      },
    )
    .delete(
      "/:username",
      async ({ params, actor }) => {
        const row = await removeUser(store, params.username, actor());
        return presentUser(row);
      },
      {
        auth: "admin",
        params: UsernameParams,
        response: withFailures({ 200: UserRecord, 404: ErrorBody }, "credential", "input"),
        detail: { summary: "Remove a user", description: "Also revokes every token of that user." },
      },
    );
