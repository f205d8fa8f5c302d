/** The console's routes (paths per the console contract); every page is a lazy chunk. */
import { lazy, Suspense } from "react";
import type { ReactNode } from "react";
import { Navigate, Route, Routes } from "react-router";
import { Shell } from "./Shell.tsx";
import { useSession } from "./session.tsx";
import { Loading, NoAccess } from "./ui.tsx";

const ChatPage = lazy(() => import("./pages/ChatPage.tsx"));
const FilesPage = lazy(() => import("./pages/FilesPage.tsx"));
const ProfilePage = lazy(() => import("./pages/ProfilePage.tsx"));
const UsagePage = lazy(() => import("./admin/UsagePage.tsx"));
const SettingsPage = lazy(() => import("./admin/SettingsPage.tsx"));
const UsersPage = lazy(() => import("./admin/UsersPage.tsx"));
const OperatorPage = lazy(() => import("./admin/OperatorPage.tsx"));

function AdminOnly({ children }: { children: ReactNode }): ReactNode {
  return useSession().isAdmin ? children : <NoAccess />;
}

function OperatorOnly({ children }: { children: ReactNode }): ReactNode {
  return useSession().isOperator ? children : <NoAccess />;
}

function Home(): ReactNode {
  const { claims, isOperator } = useSession();
  return <Navigate to={claims.tenant === null && isOperator ? "/operator" : "/chat"} replace />;
}

export function App(): ReactNode {
  return (
    <Routes>
      <Route element={<Shell />}>
        <Route index element={<Home />} />
        <Route path="callback" element={<Home />} />
        {/* one route for both, so starting a conversation keeps the page (and its stream) */}
        <Route path="chat/:conversationId?" element={<Page><ChatPage /></Page>} />
        <Route path="files" element={<Page><FilesPage /></Page>} />
        <Route path="profile" element={<Page><ProfilePage /></Page>} />
        <Route path="usage" element={<AdminOnly><Page><UsagePage /></Page></AdminOnly>} />
        <Route path="settings" element={<AdminOnly><Page><SettingsPage /></Page></AdminOnly>} />
        <Route path="users" element={<AdminOnly><Page><UsersPage /></Page></AdminOnly>} />
        <Route path="operator" element={<OperatorOnly><Page><OperatorPage /></Page></OperatorOnly>} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function Page({ children }: { children: ReactNode }): ReactNode {
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}

function NotFound(): ReactNode {
  return (
    <>
      <h1>Page not found</h1>
      <p>There is no page at this address.</p>
    </>
  );
}
