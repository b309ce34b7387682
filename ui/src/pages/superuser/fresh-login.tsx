/**
 * Every superuser change is under Quay's `@require_fresh_login`: the panel shares one password
 * prompt (components/FreshLogin.tsx) with all its tabs and dialogs through a context, so that a
 * dialog deep in a tab needs no prop to run its call through it.
 */
import { createContext, useContext } from "react";
import {
  type FreshLoginWording,
  useFreshLogin as useFreshLoginPrompt,
  type WithFreshLogin,
} from "../../components/FreshLogin";

export { isFreshLoginRequired } from "../../components/FreshLogin";

const CONFIRM_PASSWORD: FreshLoginWording = {
  title: "Confirm your password",
  intro: "This change needs a recent sign-in. Enter your password to go on.",
  label: "Your password",
  submit: "Confirm",
};

const FreshLoginContext = createContext<WithFreshLogin>((action) => action());

export function FreshLoginProvider({ children }: { children: React.ReactNode }) {
  const { withFreshLogin, prompt } = useFreshLoginPrompt(CONFIRM_PASSWORD);
  return (
    <FreshLoginContext.Provider value={withFreshLogin}>
      {children}
      {prompt}
    </FreshLoginContext.Provider>
  );
}

/** Runs a superuser call, asking for the password again when the API wants a fresh login. */
export const useFreshLogin = () => useContext(FreshLoginContext);
