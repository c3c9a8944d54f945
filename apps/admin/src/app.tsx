import { QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter } from "react-router";
import { SessionGate } from "./components/session-gate.tsx";
import { authStore, useAuth } from "./lib/auth.tsx";
import { createApiClient, createQueryClient, TRPCProvider } from "./lib/trpc.ts";
import { LoginPage } from "./pages/login.tsx";
import { AppRoutes } from "./routes.tsx";

// One of each per page load; the client reads the current key on every request.
const queryClient = createQueryClient();
const trpcClient = createApiClient(() => authStore.getState().apiKey);

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <BrowserRouter>
          <Root />
        </BrowserRouter>
      </TRPCProvider>
    </QueryClientProvider>
  );
}

/** Signed out: the login screen at whatever address was asked for, so a deep link survives signing in. */
function Root() {
  const { apiKey } = useAuth();
  if (!apiKey) return <LoginPage />;
  return (
    <SessionGate key={apiKey}>
      <AppRoutes />
    </SessionGate>
  );
}
