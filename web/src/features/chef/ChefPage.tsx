import { useCallback, useState, type SyntheticEvent } from "react";

import { useApi } from "../../api/ApiProvider";
import { ok, type MenuItem } from "../../api/client";
import { ApiError } from "../../api/problems";
import { ErrorNote } from "../../components/ErrorNote";
import { formatPrice, parsePrice } from "../../components/price";
import { useLoad } from "../../components/useLoad";
import { useAuth } from "../auth/AuthProvider";
import { fetchMenu } from "../menu/api";
import { slugify } from "./dish";

interface Draft {
  name: string;
  price: string;
  available: boolean;
}

const draftOf = (item: MenuItem): Draft => ({
  name: item.name,
  price: (item.price_cents / 100).toFixed(2),
  available: item.available,
});

export function ChefPage() {
  const api = useApi();
  const { expire } = useAuth();
  const menu = useLoad(useCallback(() => fetchMenu(api), [api]));
  const [failure, setFailure] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const save = async (id: string, draft: Draft, created: boolean): Promise<boolean> => {
    setFailure(null);
    setNotice(null);
    const cents = parsePrice(draft.price);
    if (cents === null) {
      setFailure(new Error(`"${draft.price}" is not a price: write it like 11.50`));
      return false;
    }
    try {
      await ok(
        api.PUT("/menu/{item_id}", {
          params: { path: { item_id: id } },
          body: { name: draft.name.trim(), price_cents: cents, available: draft.available },
        }),
      );
      setNotice(created ? `${draft.name.trim()} is on the menu.` : `${draft.name.trim()} is saved.`);
      await menu.reload();
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.signInAgain) expire();
      setFailure(error);
      return false;
    }
  };

  const remove = async (item: MenuItem) => {
    setFailure(null);
    setNotice(null);
    try {
      await ok(api.DELETE("/menu/{item_id}", { params: { path: { item_id: item.id } } }));
      setNotice(`${item.name} is off the menu.`);
      await menu.reload();
    } catch (error) {
      if (error instanceof ApiError && error.signInAgain) expire();
      setFailure(error);
    }
  };

  return (
    <section data-state={menu.loading ? "loading" : "ready"}>
      <h1 tabIndex={-1}>The chef’s menu</h1>
      {notice !== null && (
        <p role="status" className="success">
          {notice}
        </p>
      )}
      <ErrorNote error={failure ?? menu.error} />
      <NewDish onSave={(id, draft) => save(id, draft, true)} />
      <h2>On the menu</h2>
      <ul className="chef-list">
        {menu.data?.map((item) => (
          <DishEditor
            key={`${item.id}:${item.name}:${item.price_cents}:${item.available}`}
            item={item}
            onSave={(draft) => save(item.id, draft, false)}
            onRemove={() => remove(item)}
          />
        ))}
      </ul>
    </section>
  );
}

function NewDish({ onSave }: { onSave: (id: string, draft: Draft) => Promise<boolean> }) {
  const [draft, setDraft] = useState<Draft>({ name: "", price: "", available: true });
  const id = slugify(draft.name);
  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    if (id === "") return;
    if (await onSave(id, draft)) setDraft({ name: "", price: "", available: true });
  };
  return (
    <form className="dish-form new-dish" onSubmit={(event) => void submit(event)} aria-labelledby="new-dish">
      <h2 id="new-dish">Add a dish</h2>
      <label>
        Name
        <input
          required
          maxLength={100}
          value={draft.name}
          onChange={(e) => {
            setDraft({ ...draft, name: e.target.value });
          }}
        />
      </label>
      <label>
        Price ($)
        <input
          required
          inputMode="decimal"
          placeholder="11.50"
          value={draft.price}
          onChange={(e) => {
            setDraft({ ...draft, price: e.target.value });
          }}
        />
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={draft.available}
          onChange={(e) => {
            setDraft({ ...draft, available: e.target.checked });
          }}
        />
        Available
      </label>
      <button type="submit" disabled={id === ""}>
        Add {draft.name.trim() === "" ? "dish" : draft.name.trim()}
      </button>
    </form>
  );
}

function DishEditor({
  item,
  onSave,
  onRemove,
}: {
  item: MenuItem;
  onSave: (draft: Draft) => Promise<boolean>;
  onRemove: () => Promise<void>;
}) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(item));
  const [confirming, setConfirming] = useState(false);
  return (
    <li data-dish={item.id}>
      <form
        className="dish-form"
        aria-label={`Edit ${item.name}`}
        onSubmit={(event) => {
          event.preventDefault();
          void onSave(draft);
        }}
      >
        <label>
          Name
          <input
            required
            maxLength={100}
            value={draft.name}
            onChange={(e) => {
              setDraft({ ...draft, name: e.target.value });
            }}
          />
        </label>
        <label>
          Price ($)
          <input
            required
            inputMode="decimal"
            aria-label={`Price of ${item.name} in dollars`}
            value={draft.price}
            onChange={(e) => {
              setDraft({ ...draft, price: e.target.value });
            }}
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={draft.available}
            onChange={(e) => {
              setDraft({ ...draft, available: e.target.checked });
            }}
          />
          Available
        </label>
        <span className="muted">now {formatPrice(item.price_cents)}</span>
        <button type="submit" aria-label={`Save ${item.name}`}>
          Save
        </button>
        {confirming ? (
          <>
            <button type="button" className="danger" onClick={() => void onRemove()}>
              Remove {item.name} for good
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => {
                setConfirming(false);
              }}
            >
              Keep it
            </button>
          </>
        ) : (
          <button
            type="button"
            className="secondary"
            aria-label={`Remove ${item.name}`}
            onClick={() => {
              setConfirming(true);
            }}
          >
            Remove
          </button>
        )}
      </form>
    </li>
  );
}
